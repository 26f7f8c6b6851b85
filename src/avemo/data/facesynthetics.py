"""FaceSynthetics reader: a flat folder of ``{id:06d}.png`` (+ ``_ldmks.txt``, ``_seg.png``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from avemo.data import manifest
from avemo.data.errors import IngestError, at

CORPUS = "facesynthetics"
N_LANDMARKS = 70  # 68 iBUG + 2 pupils
_IMAGE = re.compile(r"\d{6}\.png")


def landmarks_path(root: str | Path, clip_id: str) -> Path:
    return Path(root) / f"{clip_id}_ldmks.txt"


def read_landmarks(path: str | Path) -> np.ndarray:
    """The (70, 2) float32 landmarks of one ``_ldmks.txt`` (one ``x y`` line per point)."""
    path = Path(path)
    points = []
    for lineno, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split()
        try:
            if len(parts) != 2:
                raise ValueError
            points.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise IngestError(
                f"{at(path, lineno)}: bad landmark line {raw.strip()!r}; expected 'x y' "
                f"(two numbers); fix or delete the file (the image then uses a centre crop)"
            ) from None
    if len(points) != N_LANDMARKS:
        raise IngestError(
            f"{path}: {len(points)} landmark lines, expected {N_LANDMARKS} 'x y' lines "
            f"(68 iBUG + 2 pupils); fix or delete the file (the image then uses a centre crop)"
        )
    return np.asarray(points, dtype=np.float32)


def read(root: str | Path) -> tuple[pd.DataFrame, int]:
    """One unlabelled row per ``{id:06d}.png`` (sorted), and how many lack a landmark file."""
    root = Path(root)
    names = {p.name for p in root.iterdir() if p.is_file()}
    images = sorted(n for n in names if _IMAGE.fullmatch(n))
    rows = [
        {
            "clip_id": name[:6],
            "corpus": CORPUS,
            "speaker": None,
            "session": None,
            "split": "unlabelled",
            "audio_path": None,
            "video_path": name,
            "start_s": float("nan"),
            "end_s": float("nan"),
            "duration_s": float("nan"),
            "sample_rate": None,
            **manifest.UNLABELLED,
        }
        for name in images
    ]
    missing = sum(f"{name[:6]}_ldmks.txt" not in names for name in images)
    return manifest.to_frame(rows).sort_values("clip_id", ignore_index=True), missing
