"""Media files for the reader tests: the tiny clips of every container (``tiny_clips``), a NIST
SPHERE talk, and a dialog AVI whose frames carry their index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import tiny_clips

from avemo.data.synthetic import media as synthetic_media

SR = 16000


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    return tiny_clips.clips(tmp_path_factory.mktemp("media"))


@pytest.fixture
def sph_file(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A 3 s NIST SPHERE talk; returns (path, the samples as read back whole)."""
    path = tmp_path / "talk.sph"
    x = (0.1 * np.random.default_rng(1).standard_normal(3 * SR)).astype(np.float32)
    sf.write(path, x, SR, format="NIST", subtype="PCM_16")
    return path, sf.read(path, dtype="float32")[0]


@pytest.fixture
def dialog_avi(tmp_path) -> Path:
    """4 s at 10 fps, 128x96, as IEMOCAP's (MJPEG + PCM); frame k carries its index in the
    top-left pixel block (level ``6 * k``)."""
    rng = np.random.default_rng(7)
    frames = []
    for k in range(40):
        f = rng.integers(90, 140, (96, 128, 3)).astype(np.uint8)
        f[:16, :16] = 6 * k
        frames.append(f)
    path = tmp_path / "dialog.avi"
    synthetic_media.write_avi(path, frames, 10, np.zeros(4 * 16000, np.float32), 16000)
    return path
