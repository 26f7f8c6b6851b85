"""TED-LIUM 3 reader: the ``<talk>.stm`` segments of ``<talk>.sph`` -> unlabelled manifest rows.

``ingest.tedlium`` may point at any tree of the release as distributed:

- ``TEDLIUM_release-3/``: its ``data/{stm,sph}`` (every talk; ``legacy/`` and
  ``speaker-adaptation/`` hold subsets of the same talks and are not read twice);
- a folder holding ``stm/`` and ``sph/`` itself: ``data/``, ``legacy/train``, ``legacy/dev``,
  ``legacy/test`` or a ``speaker-adaptation/`` split;
- a folder holding ``{train,dev,test}/{stm,sph}``: ``legacy/`` or ``speaker-adaptation/``, all
  three splits.

STM lines are ``<talk> <channel> <speaker> <start> <end> [<label>] <text...>`` (NIST STM: the
``<o,f0,male>`` label field is optional and the text may be empty); comment lines start with
``;;``; ``ignore_time_segment_in_scoring`` segments (music, applause, the gaps between scored
segments in ``legacy/dev`` and ``legacy/test``, whose speaker is ``inter_segment_gap``) are
skipped. Files start with an optional UTF-8 BOM and end lines with LF or CRLF.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avemo.data import manifest
from avemo.data.errors import IngestError, at
from avemo.data.iemocap import sample_rate

CORPUS = "tedlium"
IGNORE = "ignore_time_segment_in_scoring"
SPLITS = ("train", "dev", "test")  # legacy/ and speaker-adaptation/ subfolders
EXPECTED = (
    "expected '<talk> <channel> <speaker> <start> <end> [<label>] <text...>', e.g. "
    "'AaronHuey_2010X 1 AaronHuey_2010X 17.82 28.81 <o,f0,male> he spent the ...'; "
    "fix the line or restore the file from the TED-LIUM release"
)


def clip_id(talk: str, start: float, end: float) -> str:
    """Kaldi-style segment id: ``<talk>-<start cs:07d>-<end cs:07d>``."""
    return f"{talk}-{round(start * 100):07d}-{round(end * 100):07d}"


def _is_label(field: str) -> bool:
    """An STM label field: ``<o,f0,male>``, ``<o,,unknown>``, ``<NA>``."""
    return len(field) > 2 and field.startswith("<") and field.endswith(">")


def parse_stm(path: str | Path) -> list[tuple[str, str, float, float]]:
    """(talk, speaker, start, end) of every scored segment; comments and ignored ones skipped."""
    path = Path(path)
    segments = []
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(";;"):
            continue
        fields = line.split()
        if len(fields) < 5:
            raise IngestError(
                f"{at(path, lineno)}: bad stm line {line!r} ({len(fields)} fields, need at "
                f"least 5); {EXPECTED}"
            )
        talk, _channel, speaker, start_s, end_s = fields[:5]
        try:
            start, end = float(start_s), float(end_s)
        except ValueError:
            raise IngestError(
                f"{at(path, lineno)}: bad stm line {line!r} (non-numeric start/end "
                f"{start_s!r} {end_s!r}); {EXPECTED}"
            ) from None
        if not end > start:
            raise IngestError(
                f"{at(path, lineno)}: bad stm line {line!r} (end {end} is not after start "
                f"{start}); {EXPECTED}"
            )
        words = fields[6:] if len(fields) > 5 and _is_label(fields[5]) else fields[5:]
        if words == [IGNORE]:
            continue
        segments.append((talk, speaker, start, end))
    return segments


def trees(root: str | Path) -> list[tuple[str, str]]:
    """The ``(stm folder, sph folder)`` pairs to read under ``root``, relative to it."""
    root = Path(root)
    if (root / "stm").is_dir():
        return [("stm", "sph")]
    if (root / "data" / "stm").is_dir():
        return [("data/stm", "data/sph")]
    splits = [s for s in SPLITS if (root / s / "stm").is_dir()]
    if splits:
        return [(f"{s}/stm", f"{s}/sph") for s in splits]
    raise IngestError(
        f"{root}: no stm folder; set ingest.tedlium to the TED-LIUM release root (the folder "
        f"holding data/stm and data/sph), to one of its trees holding stm/ and sph/ (data, "
        f"legacy/train, legacy/dev, legacy/test), or to legacy/ itself (train, dev and test)"
    )


def _stm_files(folder: Path) -> list[Path]:
    """The ``.stm`` files of a folder; macOS ``._*`` copies and other hidden files skipped."""
    return sorted(p for p in folder.glob("*.stm") if not p.name.startswith(".") and p.is_file())


def read(root: str | Path) -> pd.DataFrame:
    """One unlabelled manifest row per scored segment, sorted by clip_id."""
    root = Path(root)
    rows: list[dict] = []
    seen: dict[str, Path] = {}
    for stm_dir, sph_dir in trees(root):
        for path in _stm_files(root / stm_dir):
            talk = path.stem
            audio = f"{sph_dir}/{talk}.sph"
            rate = sample_rate(root / audio)
            for seg_talk, speaker, start, end in parse_stm(path):
                cid = clip_id(seg_talk, start, end)
                if cid in seen:
                    raise IngestError(
                        f"{path}: segment {cid} is also in {seen[cid]}; a talk must be read from "
                        f"one tree only: point ingest.tedlium at one of them"
                    )
                seen[cid] = path
                rows.append({
                    "clip_id": cid,
                    "corpus": CORPUS,
                    "speaker": speaker,
                    "session": talk,
                    "split": "unlabelled",
                    "audio_path": audio,
                    "video_path": None,
                    "start_s": start,
                    "end_s": end,
                    "duration_s": end - start,
                    "sample_rate": rate,
                    **manifest.UNLABELLED,
                })
    return manifest.to_frame(rows).sort_values("clip_id", ignore_index=True)
