"""FaceSynthetics reader: a flat folder of ``{id:06d}.png`` (+ ``_ldmks.txt``, ``_seg.png``).

The release (``dataset_100000/``) is one folder of 100,000 images x 3 files. It is listed in a
single ``os.scandir`` pass (no ``stat`` per file), and only the image names are kept.
"""

from __future__ import annotations

import os
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
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for lineno, raw in enumerate(text.splitlines(), start=1):
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
    images, landmarks = [], set()
    with os.scandir(root) as entries:
        for e in entries:
            if _IMAGE.fullmatch(e.name) and e.is_file():
                images.append(e.name)
            elif e.name.endswith("_ldmks.txt"):
                landmarks.add(e.name[:-len("_ldmks.txt")])
    images.sort()
    nan = float("nan")
    constants = {"corpus": CORPUS, "split": "unlabelled", "start_s": nan, "end_s": nan, "duration_s": nan,
                 **manifest.UNLABELLED}
    # built column-wise: a list of 100,000 row dicts would hold ~100 MB
    df = pd.DataFrame({"clip_id": [name[:6] for name in images], "video_path": images})
    df = df.assign(**constants).reindex(columns=manifest.COLUMNS).astype(manifest.SCHEMA)
    missing = sum(name[:6] not in landmarks for name in images)
    return df, missing
