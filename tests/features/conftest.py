"""Shared fixtures for the front-end tests: synthetic faces on a canvas, audio files, and a
tiny generated corpus with its manifests (built once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avemo import config
from avemo.data import ingest
from avemo.data.synthetic import corpus
from avemo.data.synthetic.faces import Identity, Nuisance, Pose, render_face

SR = 16000


@dataclass
class FaceClip:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    landmarks_box: np.ndarray  # (T, 4) x0, y0, x1, y1 of the 70 landmarks, canvas pixels


@pytest.fixture(scope="session")
def face_clip() -> FaceClip:
    """A 96-px rendered face drifting across a larger noisy canvas, 16 frames."""
    rng = np.random.default_rng(7)
    idt = Identity()
    t, h, w, px = 16, 140, 180, 96
    frames = np.empty((t, h, w, 3), np.uint8)
    boxes = np.empty((t, 4))
    for k in range(t):
        rgb, lm, _ = render_face(idt, 0.3 * np.sin(k / 3), 0.2, speech_open=0.5 * (k % 3 == 0),
                                 pose=Pose(yaw=4 * np.sin(k / 4), roll=3 * np.cos(k / 5)),
                                 nuisance=Nuisance(noise_sigma=0.02), size=px, rng=rng)
        canvas = rng.integers(90, 140, (h, w, 3)).astype(np.uint8)
        ox, oy = 30 + 2 * k, 20 + k // 2
        canvas[oy : oy + px, ox : ox + px] = rgb
        frames[k] = canvas
        boxes[k] = [lm[:, 0].min() + ox, lm[:, 1].min() + oy, lm[:, 0].max() + ox, lm[:, 1].max() + oy]
    return FaceClip(frames, boxes)


def speech_like(seconds: float, amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    """Noise bursts with a slowly varying envelope: enough structure for a log-mel."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    env = 0.5 + 0.5 * np.sin(np.linspace(0, 6 * np.pi, n)) ** 2
    return (amplitude * env * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture
def wav_file(tmp_path: Path) -> Path:
    path = tmp_path / "clip.wav"
    sf.write(path, speech_like(1.5), SR, subtype="PCM_16")
    return path


@dataclass
class TinyCorpus:
    params: config.Params
    manifests_dir: Path
    roots: dict[str, str]
    base: Path


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory, tiny_params) -> TinyCorpus:
    """The tiny embedded corpus, generated and ingested once (manifests not validated)."""
    base = tmp_path_factory.mktemp("features")
    params = config.parse(tiny_params(base))
    corpus.run(params.synthesize)
    ingest.write(ingest.run(params.ingest), params.ingest.out_dir)
    roots = {c: getattr(params.ingest, c) for c in ingest.CORPORA}
    return TinyCorpus(params, Path(params.ingest.out_dir), roots, base)
