"""Real media no one on the project made, reached through the locked environment (nothing is
downloaded), and the containers the tests build from them.

- Face: ``grace_hopper.jpg``, the portrait of Rear Admiral Grace M. Hopper (U.S. Navy photograph,
  public domain) that matplotlib ships as sample data.
- Speech: ``media/arctic_a0007.wav``, 4 s of read English from the CMU ARCTIC database (speaker
  awb), committed unmodified with its licence (``media/README.md``, ``media/COPYING.cmu_arctic``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np

SR = 16000
MEDIA = Path(__file__).parent / "media"
# the face in grace_hopper.jpg (600 x 512): centre and side of a square around it, in pixels
FACE_CENTRE, FACE_SIDE = (262.0, 215.0), 250.0


@cache
def face() -> np.ndarray:
    """The portrait, RGB uint8 (600, 512, 3)."""
    from matplotlib import cbook
    from PIL import Image

    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as im:
        return np.asarray(im.convert("RGB"))


@cache
def speech() -> np.ndarray:
    """The recording, float32 mono at 16 kHz."""
    import soundfile as sf
    import torch
    import torchaudio.functional as AF

    x, sr = sf.read(speech_path(), dtype="float32", always_2d=True)
    x = x.mean(1)
    if sr != SR:
        x = AF.resample(torch.from_numpy(x), sr, SR).numpy()
    return x.astype(np.float32)


def speech_path() -> Path:
    return MEDIA / "arctic_a0007.wav"


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((w, h), Image.Resampling.BILINEAR))


def template(cx: float, cy: float, side: float) -> np.ndarray:
    """70 iBUG-ordered points (jaw 17, brows 10, nose 9, eyes 12, mouth 20, pupils 2) of a
    frontal face centred on ``(cx, cy)`` whose box side is ``side``, in pixels."""
    s = side / 2

    def arc(t0, t1, n, rx, ry, ox=0.0, oy=0.0):
        t = np.linspace(t0, t1, n)
        return np.stack([ox + rx * np.cos(t), oy + ry * np.sin(t)], 1)

    jaw = arc(np.pi * 0.95, np.pi * 0.05, 17, 0.8, 0.9, oy=-0.1)
    jaw[:, 1] = -0.1 + np.abs(jaw[:, 1]) * 1.0
    brows = np.concatenate([arc(np.pi * 1.15, np.pi * 1.45, 5, 0.3, 0.12, -0.35, -0.35),
                            arc(np.pi * 1.55, np.pi * 1.85, 5, 0.3, 0.12, 0.35, -0.35)])
    nose = np.concatenate([np.stack([np.zeros(4), np.linspace(-0.25, 0.15, 4)], 1),
                           np.stack([np.linspace(-0.15, 0.15, 5), np.full(5, 0.22)], 1)])
    eye = arc(0, 2 * np.pi, 7, 0.13, 0.06)[:6]
    eyes = np.concatenate([eye + np.array([-0.35, -0.2]), eye + np.array([0.35, -0.2])])
    mouth = np.concatenate([arc(np.pi, 0, 12, 0.3, 0.1, oy=0.5), arc(np.pi, 0, 8, 0.2, 0.04, oy=0.5)])
    pupils = np.array([[-0.35, -0.2], [0.35, -0.2]])
    pts = np.concatenate([jaw, brows, nose, eyes, mouth, pupils])
    return (pts * s + [cx, cy]).astype(np.float32)


def face_image(rng: np.random.Generator, px: int) -> tuple[np.ndarray, np.ndarray]:
    """A FaceSynthetics-like square image of the face (random zoom, shift and light) and its
    70 landmarks in that image's pixels."""
    img = face()
    side = FACE_SIDE * rng.uniform(1.3, 1.7)
    cx, cy = (np.array(FACE_CENTRE) + rng.uniform(-0.08, 0.08, 2) * FACE_SIDE).tolist()
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(img.shape[1], x0 + side)), int(min(img.shape[0], y0 + side))
    crop = img[y0:y1, x0:x1].astype(np.float32) * rng.uniform(0.7, 1.2)
    out = _resize(np.clip(crop, 0, 255).astype(np.uint8), px, px)
    pts = template(*FACE_CENTRE, FACE_SIDE)
    pts = (pts - [x0, y0]) * [px / (x1 - x0), px / (y1 - y0)]
    return out, pts.astype(np.float32)


def segmentation(points: np.ndarray, px: int) -> np.ndarray:
    """A class-per-pixel map: skin (1) inside the landmarks' hull, background (0) elsewhere."""
    (x0, y0), (x1, y1) = points.min(0), points.max(0)
    seg = np.zeros((px, px), np.uint8)
    seg[max(0, int(y0)):int(y1), max(0, int(x0)):int(x1)] = 1
    return seg


def write_png(path: Path, img: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(img).save(path)


def still_frames(seconds: float, fps: int, height: int = 240) -> Iterator[np.ndarray]:
    """The portrait as a video: a slow pan of a few pixels, ``seconds`` long."""
    img = face()
    w = int(img.shape[1] * height / img.shape[0]) // 2 * 2
    base = _resize(img, w + 8, height + 8)
    for k in range(round(seconds * fps)):
        dx = dy = int(4 + 3 * np.sin(2 * np.pi * k / (2 * fps)))
        yield np.ascontiguousarray(base[dy:dy + height, dx:dx + w])


def side_by_side(img: np.ndarray, seconds: float, fps: int, rng: np.random.Generator,
                 height: int = 120) -> Iterator[np.ndarray]:
    """An IEMOCAP-like dialog video: the two actors side by side (the portrait and its mirror
    image, each in its half), jittering a little from frame to frame."""
    half = _resize(img, int(img.shape[1] * height / img.shape[0]) + 6, height + 6)
    mirror = half[:, ::-1]
    w = half.shape[1] - 6
    for _ in range(round(seconds * fps)):
        (ax, ay), (bx, by) = rng.integers(0, 6, (2, 2))
        yield np.concatenate([half[ay:ay + height, ax:ax + w], mirror[by:by + height, bx:bx + w]], 1)


def write_video(path: Path, frames, fps: int, audio: np.ndarray | None, sr: int, fmt: str = "mp4",
                rotation: int = 0) -> Path:
    """Frames (RGB uint8) and mono audio in a container: ``avi`` (MJPEG + PCM, like IEMOCAP's
    dialog videos) or ``mp4`` (H.264 + AAC, like a phone's). ``rotation``: a display-matrix
    rotation (degrees counterclockwise) for players to apply, as phones write."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=fmt) as out:
        vs = astream = None
        for frame in frames:
            if vs is None:
                vs = out.add_stream("mjpeg" if fmt == "avi" else "libx264", rate=fps)
                vs.width, vs.height = frame.shape[1], frame.shape[0]
                vs.pix_fmt = "yuvj420p" if fmt == "avi" else "yuv420p"
                if rotation:
                    vs.set_display_rotation(rotation)
                if audio is not None:
                    astream = out.add_stream("pcm_s16le" if fmt == "avi" else "aac", rate=sr, layout="mono")
            for packet in vs.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if astream is not None:
            chunk = astream.codec_context.frame_size or 1024
            if fmt == "avi":
                pcm, sample_fmt = (np.clip(audio, -1, 1) * 32767).astype(np.int16), "s16"
            else:
                pcm, sample_fmt = np.clip(audio, -1, 1).astype(np.float32), "fltp"
            for i in range(0, pcm.size, chunk):
                block = pcm[i:i + chunk]
                if fmt != "avi" and block.size < chunk:
                    block = np.pad(block, (0, chunk - block.size))
                af = av.AudioFrame.from_ndarray(block[None], format=sample_fmt, layout="mono")
                af.sample_rate = sr
                for packet in astream.encode(af):
                    out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return path


def clip(path: Path, seconds: float = 6.0, fps: int = 25) -> Path:
    """The portrait as an H.264 video of ``seconds`` with the speech (looped) as AAC audio."""
    x = speech()
    audio = np.resize(x, round(seconds * SR))
    return write_video(path, still_frames(seconds, fps), fps, audio, SR, fmt="mp4")


if __name__ == "__main__":  # uv run python tests/support/real_media.py OUT.mp4
    import sys

    print(clip(Path(sys.argv[1])))
