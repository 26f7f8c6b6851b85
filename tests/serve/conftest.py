"""Media files with a rendered talking face and/or speech-like audio, and a small fused
model (random weights, the project's front-end settings) for the inference-pipeline tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avemo.data.synthetic.faces import Identity, Pose, render_face
from avemo.data.synthetic.media import write_avi

SR, FPS = 16000, 10


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    env = 0.5 + 0.5 * np.sin(np.linspace(0, 6 * np.pi, n)) ** 2
    return (0.1 * env * rng.standard_normal(n)).astype(np.float32)


def face_frames(seconds: float, face: bool = True, seed: int = 0) -> list[np.ndarray]:
    """A 96-px rendered face on a 120x160 noisy canvas (or the canvas alone) at 10 fps."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(round(seconds * FPS)):
        canvas = rng.integers(90, 140, (120, 160, 3)).astype(np.uint8)
        if face:
            rgb, _, _ = render_face(Identity(), 0.5 * np.sin(k / 5), 0.2, pose=Pose(yaw=3 * np.sin(k / 4)), size=96,
                                    rng=rng)
            canvas[12:108, 32:128] = rgb
        out.append(canvas)
    return out


def write_mp4_video_only(path: Path, frames: list[np.ndarray]) -> Path:
    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream("mpeg4", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for f in frames:
            for packet in vs.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="session")
def media_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    files = {"av": d / "talk.avi", "no_face": d / "wall.avi", "video_only": d / "silent.mp4", "wav": d / "voice.wav"}
    write_avi(files["av"], face_frames(6.0), FPS, speech_like(6.0), SR)
    write_avi(files["no_face"], face_frames(5.0, face=False), FPS, speech_like(5.0, seed=1), SR)
    write_mp4_video_only(files["video_only"], face_frames(5.0, seed=2))
    sf.write(files["wav"], speech_like(3.0, seed=3), SR, subtype="PCM_16")
    return files


@pytest.fixture(scope="session")
def model_dir(save_fused) -> Path:
    return save_fused()


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory):
    """Uploads the service must refuse: empty, undecodable, wrong extension, over 1 MB, too short, faceless."""
    d = tmp_path_factory.mktemp("bad")
    (d / "empty.mp4").write_bytes(b"")
    (d / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(4000))
    (d / "notes.txt").write_text("not media")
    (d / "huge.wav").write_bytes(b"\0" * (1024 * 1024 + 10))
    sf.write(d / "blip.wav", speech_like(0.2), 16000)
    write_mp4_video_only(d / "wall.mp4", face_frames(3.0, face=False))
    return d


@pytest.fixture(scope="session")
def real_clip(tmp_path_factory) -> Path:
    """Media no one on the project made: a real portrait (public domain, shipped with
    matplotlib) as a 6 s H.264 video with a real speech recording (CMU ARCTIC) as AAC audio."""
    import real_media

    return real_media.clip(tmp_path_factory.mktemp("real") / "hopper.mp4")
