"""TED-LIUM 3 reader: ``data/stm/<talk>.stm`` segments of ``data/sph/<talk>.sph`` -> rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avemo.data import manifest
from avemo.data.errors import IngestError, at
from avemo.data.iemocap import sample_rate

CORPUS = "tedlium"
IGNORE = "ignore_time_segment_in_scoring"
EXPECTED = (
    "expected '<talk> <channel> <speaker> <start> <end> <label> <text...>', e.g. "
    "'AaronHuey_2010X 1 AaronHuey_2010X 17.82 28.81 <o,f0,male> he spent the ...'; "
    "fix the line or restore the file from the TED-LIUM release"
)


def clip_id(talk: str, start: float, end: float) -> str:
    """Kaldi-style segment id: ``<talk>-<start cs:07d>-<end cs:07d>``."""
    return f"{talk}-{round(start * 100):07d}-{round(end * 100):07d}"


def parse_stm(path: str | Path) -> list[tuple[str, str, float, float]]:
    """(talk, speaker, start, end) of every scored segment; comments and ignored ones skipped."""
    path = Path(path)
    segments = []
    for lineno, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(";;"):
            continue
        fields = line.split()
        if len(fields) < 6:
            raise IngestError(
                f"{at(path, lineno)}: bad stm line {line!r} ({len(fields)} fields, need at "
                f"least 6); {EXPECTED}"
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
        if " ".join(fields[6:]) == IGNORE:
            continue
        segments.append((talk, speaker, start, end))
    return segments


def read(root: str | Path) -> pd.DataFrame:
    """One unlabelled manifest row per scored segment, sorted by clip_id."""
    root = Path(root)
    stm_dir = root / "data" / "stm"
    if not stm_dir.is_dir():
        raise IngestError(
            f"{stm_dir}: folder not found; set ingest.tedlium to the TED-LIUM root "
            f"(the folder holding data/stm and data/sph)"
        )
    rows: list[dict] = []
    for path in sorted(stm_dir.glob("*.stm")):
        if path.name.startswith(".") or not path.is_file():
            continue
        talk = path.stem
        audio = f"data/sph/{talk}.sph"
        rate = sample_rate(root / audio)
        for seg_talk, speaker, start, end in parse_stm(path):
            rows.append({
                "clip_id": clip_id(seg_talk, start, end),
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
