"""IEMOCAP reader: ``Session*/dialog/EmoEvaluation/<dialog>.txt`` -> manifest rows.

``ingest.iemocap`` points at ``IEMOCAP_full_release/`` as distributed: only the per-dialog
``.txt`` files directly in ``EmoEvaluation/`` are turn files; its ``Attribute/``,
``Categorical/`` and ``Self-evaluation/`` subfolders (each annotator's own files) are not read,
nor are macOS ``._*`` copies, ``Documentation/`` or the ``dialog/{lab,transcriptions,wav,MOCAP_*}``
and ``sentences/ForcedAlignment`` trees. Files may start with a UTF-8 BOM and end lines with CRLF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import soundfile as sf

from avemo.config import Splits
from avemo.data import manifest
from avemo.data.errors import IngestError, at
from avemo.data.splits import assign_split

CORPUS = "iemocap"
CATEGORIES = ("neu", "hap", "sad", "ang", "exc", "fru", "fea", "sur", "dis", "oth", "xxx")
EXPECTED = (
    "expected '[START - END]<TAB>UTTERANCE_ID<TAB>CATEGORY<TAB>[V, A, D]', e.g. "
    "'[6.2901 - 8.2357]\\tSes01F_impro01_F000\\tneu\\t[2.5000, 2.5000, 2.5000]'; "
    "fix the line or restore the file from the IEMOCAP release"
)
_TURN = re.compile(
    r"\[\s*(?P<start>[^\s\]]+)\s+-\s+(?P<end>[^\s\]]+)\s*\]\s+(?P<utt>\S+)\s+(?P<cat>\S+)"
    r"\s+\[(?P<vad>[^\[\]]*)\]"
)
# Ses01F_impro01_F000, Ses01F_script01_1_M003: the LAST letter is the speaker's gender.
_UTT = re.compile(r"Ses(?P<ses>\d{2})[FM]_\w+_(?P<who>[FM])\d+")
_SESSION = re.compile(r"Session(?P<n>\d+)")


@dataclass(frozen=True)
class Turn:
    utt: str
    speaker: str  # "Ses01_F": session + the letter of the id's LAST part
    start: float
    end: float
    category: str
    vad: tuple[float, float, float]
    lineno: int


def _parse_turn(line: str, path: Path, lineno: int) -> Turn:
    def fail(why: str) -> IngestError:
        return IngestError(f"{at(path, lineno)}: bad IEMOCAP turn line {line!r} ({why}); {EXPECTED}")

    m = _TURN.fullmatch(line.strip())
    if m is None:
        n = len(line.strip().split("\t"))
        raise fail(f"{n} tab-separated fields, need 4" if n != 4 else "bad brackets or spacing")
    try:
        start, end = float(m["start"]), float(m["end"])
        vad = tuple(float(v) for v in m["vad"].split(","))
    except ValueError as err:
        raise fail(f"non-numeric value: {err}") from None
    if len(vad) != 3:
        raise fail(f"{len(vad)} dimensional value(s) instead of 3")
    if end <= start:
        raise fail(f"end {end} is not after start {start}")
    if m["cat"] not in CATEGORIES:
        raise fail(f"unknown category {m['cat']!r}, not one of {', '.join(CATEGORIES)}")
    ids = _UTT.fullmatch(m["utt"])
    if ids is None:
        raise fail(f"utterance id {m['utt']!r} is not like Ses01F_impro01_F000")
    speaker = f"Ses{ids['ses']}_{ids['who']}"
    return Turn(m["utt"], speaker, start, end, m["cat"], (vad[0], vad[1], vad[2]), lineno)


def parse_evaluation(path: str | Path) -> list[Turn]:
    """The turns of one EmoEvaluation file; header, blank and rater lines are skipped."""
    path = Path(path)
    turns: list[Turn] = []
    block_start = True
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            block_start = True
        elif line.startswith("%"):
            continue
        elif block_start or line.startswith("["):
            turns.append(_parse_turn(line, path, lineno))
            block_start = False
    return turns


def sample_rate(path: Path) -> int | None:
    """The file's sample rate, or None when it is missing or unreadable (validation reports it)."""
    try:
        return int(sf.info(str(path)).samplerate) if path.is_file() else None
    except (RuntimeError, OSError):  # sf.LibsndfileError; validation reports the file
        return None


def _session_dirs(root: Path) -> list[Path]:
    dirs = [p for p in root.iterdir() if p.is_dir() and _SESSION.fullmatch(p.name)]
    if not dirs:
        raise IngestError(
            f"{root}: no Session<N> folders; set ingest.iemocap to the IEMOCAP root "
            f"(the folder holding Session1 ... Session5)"
        )
    return sorted(dirs, key=lambda p: int(p.name[len("Session"):]))


def read(root: str | Path, splits: Splits) -> pd.DataFrame:
    """One manifest row per annotated turn, sorted by clip_id."""
    root = Path(root)
    rows: list[dict] = []
    for sdir in _session_dirs(root):
        try:
            split = assign_split(sdir.name, splits)
        except IngestError as err:
            raise IngestError(f"{sdir}: {err}") from None
        n = int(sdir.name[len("Session"):])
        evals = sorted((sdir / "dialog" / "EmoEvaluation").glob("*.txt"))
        for path in (p for p in evals if not p.name.startswith(".") and p.is_file()):
            dialog = path.stem
            for t in parse_evaluation(path):
                if int(t.speaker[3:5]) != n:
                    raise IngestError(
                        f"{at(path, t.lineno)}: utterance {t.utt} is from {t.speaker[:5]} but "
                        f"the file is in {sdir.name}; move the file to its session folder"
                    )
                audio = f"{sdir.name}/sentences/wav/{dialog}/{t.utt}.wav"
                v, a, d = (manifest.iemocap_to_unit(x) for x in t.vad)
                rows.append({
                    "clip_id": t.utt,
                    "corpus": CORPUS,
                    "speaker": t.speaker,
                    "session": sdir.name,
                    "split": split,
                    "audio_path": audio,
                    "video_path": f"{sdir.name}/dialog/avi/DivX/{dialog}.avi",
                    "start_s": t.start,
                    "end_s": t.end,
                    "duration_s": t.end - t.start,
                    "sample_rate": sample_rate(root / audio),
                    "valence": v,
                    "arousal": a,
                    "dominance": d,
                    "label_source": "gold",
                    "label_weight": 1.0,
                    "category": t.category,
                })
    return manifest.to_frame(rows).sort_values("clip_id", ignore_index=True)
