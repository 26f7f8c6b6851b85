"""What counts as a usable file before any decoder runs: accepted suffixes, :class:`MediaError`."""

from __future__ import annotations

from pathlib import Path

AUDIO_SUFFIXES = (".wav", ".flac")  # user audio files (soundfile); corpora may also hold NIST SPHERE
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv")  # user video files (PyAV)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")  # still images (OpenCV)


class MediaError(ValueError):
    """A file avemo cannot use; the message names the file and says what to do."""


def checked(path: str | Path) -> Path:
    """``path`` as a Path after the cheap checks (exists, a file, accepted suffix, not empty)."""
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{path}: no such file; check the path")
    if not p.is_file():
        raise MediaError(f"{path}: not a file; pass an audio or video file")
    if p.suffix.lower() not in AUDIO_SUFFIXES + VIDEO_SUFFIXES:
        raise MediaError(
            f"{path}: unsupported file type {p.suffix or '(none)'!r}; avemo reads audio "
            f"({', '.join(AUDIO_SUFFIXES)}) and video ({', '.join(VIDEO_SUFFIXES)}); convert a "
            f"recording in another format, e.g. `ffmpeg -i {p.name} {p.stem}.mp4`")
    if p.stat().st_size == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes); copy or upload it again")
    return p


def is_audio_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in AUDIO_SUFFIXES


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
