"""Tiny corpora in the layouts IEMOCAP, TED-LIUM 3 and FaceSynthetics are released in, with the
quirks of the real trees, made from real media (see :mod:`tests.real_media`) and with no hidden
truth: what a user's corpora look like to avemo.

- ``IEMOCAP_full_release/``: ``Session1..5`` (one improvised dialog each, turns of both actors),
  ``EmoEvaluation/`` with the annotators' ``Attribute/``, ``Categorical/`` and
  ``Self-evaluation/`` subfolders, macOS ``._*`` files, one evaluation file with a UTF-8 BOM and
  CRLF line ends, the ``lab/``, ``transcriptions/``, ``wav/``, ``MOCAP_*`` and
  ``ForcedAlignment/`` trees the reader must leave alone, and side-by-side dialog videos (AVI);
- ``TEDLIUM_release-3/``: ``data/{sph,stm}`` and the same talks under ``legacy/{train,dev,test}``
  and ``speaker-adaptation/``; STM lines with and without the ``<label>`` field,
  ``ignore_time_segment_in_scoring`` and ``inter_segment_gap`` segments;
- ``dataset_100000/``: the flat FaceSynthetics folder (``{id:06d}.png``, ``_ldmks.txt``,
  ``_seg.png``), one image without landmarks, macOS ``._*`` files.

Labels are drawn at random (this corpus tests the plumbing, not the science).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import real_media
import soundfile as sf

SR = 16000
FPS = 10
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "
HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
CATEGORIES = ("neu", "hap", "sad", "ang", "exc", "fru")


def _speech(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """``seconds`` of the real recording from a random start, at a random tempo and level."""
    x = real_media.speech()
    rate = rng.uniform(0.85, 1.15)  # resampled: the voice gets higher and faster, or lower and slower
    n = int(seconds * SR * rate) + 1
    start = int(rng.integers(0, max(1, len(x) - n)))
    seg = np.resize(x[start:start + n], n)
    y = np.interp(np.arange(int(seconds * SR)) * rate, np.arange(n), seg)
    return (y * rng.uniform(0.3, 0.9) / max(1e-6, np.abs(y).max())).astype(np.float32)


def _turn_times(n: int) -> list[tuple[float, float]]:
    return [(0.6 + 2.4 * k, 0.6 + 2.4 * k + 1.8) for k in range(n)]


def iemocap(base: Path, rng: np.random.Generator, sessions: int = 5, turns: int = 4) -> Path:
    root = base / "IEMOCAP_full_release"
    (root / "Documentation").mkdir(parents=True)
    (root / "Documentation" / "README.txt").write_text("IEMOCAP release notes\n")
    face = real_media.face()
    for n in range(1, sessions + 1):
        session = root / f"Session{n}"
        dialog = f"Ses{n:02d}F_impro01"
        emo = session / "dialog" / "EmoEvaluation"
        emo.mkdir(parents=True)
        times = _turn_times(turns)
        lines, transcript = [HEADER], []
        for k, (start, end) in enumerate(times):
            who = "FM"[k % 2]
            utt = f"{dialog}_{who}{k:03d}"
            v, a, d = (float(x) for x in rng.integers(2, 9, 3) / 2)
            cat = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
            lines.append(f"[{start:.4f} - {end:.4f}]\t{utt}\t{cat}\t[{v:.4f}, {a:.4f}, {d:.4f}]\n"
                         f"C-E2:\tNeutral state; ()\nC-F1:\tNeutral state; (curious)\n"
                         f"A-E3:\tval {v:.0f}; act {a:.0f}; dom  {d:.0f};\t()\n\n")
            transcript.append(f"{utt} [{start:08.4f}-{end:08.4f}]: Excuse me.\n")
            wav = session / "sentences" / "wav" / dialog / f"{utt}.wav"
            wav.parent.mkdir(parents=True, exist_ok=True)
            sf.write(wav, _speech(rng, end - start), SR, subtype="PCM_16")
            (session / "sentences" / "ForcedAlignment" / dialog).mkdir(parents=True, exist_ok=True)
            (session / "sentences" / "ForcedAlignment" / dialog / f"{utt}.wdseg").write_text("SFrm EFrm\n")
        text = "".join(lines)
        if n == 2:  # saved by an editor on Windows: a BOM and CRLF line ends
            (emo / f"{dialog}.txt").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
        else:
            (emo / f"{dialog}.txt").write_text(text)
        (emo / f"._{dialog}.txt").write_bytes(APPLE_DOUBLE)
        for sub, name, body in (("Attribute", f"{dialog}_atr.txt", f"{dialog}_F000 :act 2; val 3; dom 2; ()\n"),
                                ("Categorical", f"{dialog}_e2_cat.txt", f"{dialog}_F000 :Neutral state; ()\n"),
                                ("Self-evaluation", f"{dialog}.anvil", "<annotation/>\n")):
            (emo / sub).mkdir()
            (emo / sub / name).write_text(body)
            (emo / sub / f"._{name}").write_bytes(APPLE_DOUBLE)
        for tree in ("lab/Ses01_F", "wav", "MOCAP_rotated", "MOCAP_head", "transcriptions"):
            (session / "dialog" / tree).mkdir(parents=True, exist_ok=True)
        (session / "dialog" / "transcriptions" / f"{dialog}.txt").write_text("".join(transcript))
        avi = session / "dialog" / "avi" / "DivX" / f"{dialog}.avi"
        real_media.write_video(avi, real_media.side_by_side(face, times[-1][1] + 0.6, FPS, rng), FPS,
                               _speech(rng, times[-1][1] + 0.6), SR, fmt="avi")
        (avi.parent / f"._{dialog}.avi").write_bytes(APPLE_DOUBLE)
    (root / "._Session1").write_bytes(APPLE_DOUBLE)
    return root


def _stm(talk: str, segments: int, with_label: bool) -> str:
    label = "<o,f0,female> " if with_label else ""
    out = [';; CATEGORY "0" "" ""\n', ';; LABEL "O" "Overall" "Overall"\n',
           f"{talk} 1 inter_segment_gap 0 0.50 <o,,unknown> ignore_time_segment_in_scoring\n"]
    for k in range(segments):
        start = 0.5 + 2.5 * k
        out.append(f"{talk} 1 {talk} {start:.2f} {start + 2.0:.2f} {label}so this is talk number {k}\n")
        if k == 1:
            out.append(f"{talk} 1 {talk} {start + 2.0:.2f} {start + 2.5:.2f} {label}ignore_time_segment_in_scoring\n")
    return "".join(out)


def tedlium(base: Path, rng: np.random.Generator, talks: int = 3, segments: int = 5) -> Path:
    root = base / "TEDLIUM_release-3"
    names = [f"Speaker{k}_20{10 + k}X" for k in range(talks)]
    trees = {"data": names, "legacy/train": names[:-1], "legacy/dev": names[-1:], "legacy/test": [],
             "speaker-adaptation/train": names[:1], "speaker-adaptation/dev": [], "speaker-adaptation/test": []}
    audio = {t: _speech(rng, 0.5 + 2.5 * segments + 0.5) for t in names}
    for tree, members in trees.items():
        (root / tree / "stm").mkdir(parents=True)
        (root / tree / "sph").mkdir(parents=True)
        for k, talk in enumerate(members):
            (root / tree / "stm" / f"{talk}.stm").write_text(_stm(talk, segments, with_label=k % 2 == 0))
            sf.write(root / tree / "sph" / f"{talk}.sph", audio[talk], SR, format="NIST", subtype="PCM_16")
    (root / "data" / "stm" / f"._{names[0]}.stm").write_bytes(APPLE_DOUBLE)
    (root / "readme").write_text("TED-LIUM release 3\n")
    (root / "TEDLIUM.152k.dic").write_text("a ah\n")
    return root


def facesynthetics(base: Path, rng: np.random.Generator, images: int = 40) -> Path:
    root = base / "dataset_100000"
    root.mkdir(parents=True)
    for i in range(images):
        image, points = real_media.face_image(rng, 128)
        real_media.write_png(root / f"{i:06d}.png", image)
        real_media.write_png(root / f"{i:06d}_seg.png", real_media.segmentation(points, 128))
        if i != 3:  # the release allows an image without landmarks
            (root / f"{i:06d}_ldmks.txt").write_text("".join(f"{x:.3f} {y:.3f}\n" for x, y in points))
    (root / "._000000.png").write_bytes(APPLE_DOUBLE)
    return root


def build(base: Path, seed: int = 0) -> dict[str, Path]:
    """The three corpora under ``base``; returns corpus -> the root ``ingest.<corpus>`` takes."""
    rng = np.random.default_rng(seed)
    return {"iemocap": iemocap(base, rng), "tedlium": tedlium(base, rng), "facesynthetics": facesynthetics(base, rng)}
