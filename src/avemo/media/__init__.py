"""Reading media: every decoder avemo runs, for features, validation and serving alike.

- :mod:`~avemo.media.audio`: float32 mono ``(samples,)`` at 16 kHz (or ``sr``), from sound
  files (:func:`load_audio`) or a span of any user file (:func:`read_audio`);
- :mod:`~avemo.media.video`: RGB ``(T, H, W, 3)`` uint8 frames of time segments
  (:func:`decode_segments`, :func:`read_rgb`) and grey ``(T, H, W)`` uint8 frames of a span
  sampled at a target rate (:func:`read_frames`);
- :mod:`~avemo.media.image`: still images (:func:`read_image`, RGB ``(H, W, 3)``);
- :mod:`~avemo.media.probe`: what a user file holds (:func:`probe` -> :class:`MediaInfo`);
- :mod:`~avemo.media.container`: PyAV containers (opening, stream choice, timestamps, seeking);
- :mod:`~avemo.media.files`: accepted suffixes and :class:`MediaError`, which every unusable
  user file raises with a message that names the file and says what to do.

PyAV, soundfile, OpenCV and torchaudio are imported on first use, not by this package.
"""

from __future__ import annotations

from avemo.media.audio import SAMPLE_RATE, load_audio, read_audio
from avemo.media.files import AUDIO_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES, MediaError
from avemo.media.image import read_image
from avemo.media.probe import MediaInfo, probe
from avemo.media.video import decode_segments, frame_span, read_frames, read_rgb, upright, video_fps

__all__ = [
    "AUDIO_SUFFIXES", "IMAGE_SUFFIXES", "SAMPLE_RATE", "VIDEO_SUFFIXES", "MediaError", "MediaInfo",
    "decode_segments", "frame_span", "load_audio", "probe", "read_audio", "read_frames", "read_image",
    "read_rgb", "upright", "video_fps",
]
