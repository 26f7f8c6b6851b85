"""Visual front-end: frames -> grey frames -> Haar face track -> face crops (decoding the
frames is :mod:`avemo.media`'s).

Shapes: RGB frames ``(T, H, W, 3)`` uint8; grey frames ``(T, H, W)`` uint8; boxes ``(T, 4)``
float ``(x0, y0, x1, y1)`` in pixels (square, may reach outside the frame); crops
``(T, px, px)`` uint8.

The same front-end runs at train and serve time, for videos and for still images: detect a
face per frame with an OpenCV Haar cascade (up to three passes, see ``PASSES``; near the
previous frame's face first), keep the largest (most central on ties) box, fill frames
without a detection from the nearest detections (linear interpolation inside, nearest at
the ends), smooth the track forward and backward, add a margin, and when no frame of the
clip has a detection fall back to a centred square of side ``min(H, W)``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from avemo.config import VideoFeatures

DEFAULT_CASCADE = "haarcascade_frontalface_alt2.xml"
SCALE_FACTOR = 1.1  # Haar pyramid step
# detection passes, tried in order until one finds a face: (histogram-equalise?, minNeighbors).
# A strict pass, a relaxed one, then a relaxed one on the equalised frame (dark, low-contrast
# faces); on the embedded corpora each later pass adds a few points of detection rate.
PASSES = ((False, 3), (False, 1), (True, 1))
DETECT_MAX_PX = 240  # frames taller than this are downscaled for detection only
PRIOR_REACH = 1.0  # search radius around the previous frame's face, in face sides
PRIOR_SIZE = 1.3  # face size change allowed between consecutive frames (factor)


# --------------------------------------------------------------------------- frames


def to_grey(frames: np.ndarray) -> np.ndarray:
    """RGB ``(..., H, W, 3)`` -> grey ``(..., H, W)`` uint8 (grey input passes through)."""
    if frames.ndim >= 3 and frames.shape[-1] == 3:
        h, w = frames.shape[-3:-1]
        flat = np.ascontiguousarray(frames).reshape(-1, w, 3)
        return cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY).reshape(*frames.shape[:-3], h, w)
    return frames


def speaker_half(frames: np.ndarray, side: str) -> np.ndarray:
    """The ``left`` or ``right`` half of side-by-side dialog frames ``(T, H, W[, 3])``."""
    w = frames.shape[2]
    if side == "left":
        return frames[:, :, : w // 2]
    if side == "right":
        return frames[:, :, w // 2 :]
    raise ValueError(f"side must be 'left' or 'right', got {side!r}")


# --------------------------------------------------------------------------- face track


_THREAD = threading.local()


def load_cascade(name: str = DEFAULT_CASCADE) -> cv2.CascadeClassifier:
    """An OpenCV Haar cascade by file name (from ``cv2.data.haarcascades``) or path; loaded
    once per thread: a ``CascadeClassifier`` must not be shared by threads running detections
    at once (mapped feature extraction on a thread pool, a service's request threads)."""
    cache = _THREAD.__dict__.setdefault("cascades", {})
    if name not in cache:
        path = name if Path(name).is_file() else cv2.data.haarcascades + name
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise FileNotFoundError(f"{name}: not an OpenCV Haar cascade (looked in {cv2.data.haarcascades})")
        cache[name] = cascade
    return cache[name]


def _pick(boxes: np.ndarray, h: int, w: int) -> np.ndarray:
    """The largest box; among boxes of similar size the most central one."""
    x, y, bw, bh = boxes.T.astype(np.float64)
    dist = np.hypot(x + bw / 2 - w / 2, y + bh / 2 - h / 2) / np.hypot(w, h)
    return boxes[int(np.argmax(bw * bh * (1.0 - 0.5 * dist)))]


def _smooth(x: np.ndarray, alpha: float) -> np.ndarray:
    """Zero-phase exponential smoothing along axis 0 (a forward then a backward pass)."""
    if alpha <= 0 or len(x) < 2:
        return x
    y = x.copy()
    for t in range(1, len(y)):
        y[t] = alpha * y[t - 1] + (1 - alpha) * y[t]
    for t in range(len(y) - 2, -1, -1):
        y[t] = alpha * y[t + 1] + (1 - alpha) * y[t]
    return y


class FaceTracker:
    """Haar face detection per frame + a smoothed track; see the module docstring."""

    def __init__(self, cascade: str = DEFAULT_CASCADE, min_face_frac: float = 0.3, smooth: float = 0.6,
                 margin: float = 0.15):
        self.cascade_name, self.min_face_frac, self.smooth, self.margin = cascade, min_face_frac, smooth, margin
        load_cascade(cascade)  # fail early on a bad name

    @property
    def cascade(self) -> cv2.CascadeClassifier:
        return load_cascade(self.cascade_name)  # this thread's own copy

    @classmethod
    def from_config(cls, cfg: VideoFeatures) -> FaceTracker:
        return cls(cfg.cascade, cfg.min_face_frac, cfg.smooth, cfg.margin)

    def _search(self, img: np.ndarray, lo: int, hi: int | None, passes) -> np.ndarray | None:
        for equalise, neighbours in passes:
            found = self.cascade.detectMultiScale(
                cv2.equalizeHist(img) if equalise else img, scaleFactor=SCALE_FACTOR, minNeighbors=neighbours,
                minSize=(lo, lo), maxSize=(hi, hi) if hi else (0, 0))
            if len(found):
                return _pick(np.asarray(found), *img.shape).astype(np.float64)
        return None

    def detect(self, grey: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray | None:
        """The chosen face in one grey frame as ``(cx, cy, side)`` in pixels, or None.

        With ``prior`` (the previous frame's face) the strict pass first looks near it, at
        sizes within ``PRIOR_SIZE`` of it: a few large scales instead of the whole pyramid
        (about 3x faster). Missing there, the whole frame is searched as without a prior."""
        h, w = grey.shape
        scale = min(1.0, DETECT_MAX_PX / h)
        img = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else grey
        if prior is not None:
            cx, cy, side = prior * scale
            r = side * PRIOR_REACH
            x0, y0 = max(0, int(cx - r)), max(0, int(cy - r))
            roi = img[y0 : int(cy + r) + 1, x0 : int(cx + r) + 1]
            lo, hi = int(side / PRIOR_SIZE), int(side * PRIOR_SIZE) + 1
            if min(roi.shape) >= lo:
                box = self._search(roi, lo, hi, PASSES[:1])
                if box is not None:
                    box[:2] += (x0, y0)  # ROI -> image coordinates
                    x, y, bw, bh = box / scale
                    return np.array([x + bw / 2, y + bh / 2, max(bw, bh)])
        box = self._search(img, max(1, int(self.min_face_frac * img.shape[0])), None, PASSES)
        if box is None:
            return None
        x, y, bw, bh = box / scale
        return np.array([x + bw / 2, y + bh / 2, max(bw, bh)])

    def track(self, frames_grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes (T, 4) float (x0, y0, x1, y1), detected (T,) bool)`` for grey frames
        ``(T, H, W)``. Boxes include the margin; with no detection at all, every box is the
        centred square of side ``min(H, W)``."""
        t, h, w = frames_grey.shape
        found: list[np.ndarray | None] = []
        prior = None
        for f in frames_grey:
            found.append(self.detect(f, prior))
            prior = found[-1] if found[-1] is not None else prior
        detected = np.array([f is not None for f in found], dtype=bool)
        if not detected.any():
            s = min(h, w)
            box = np.array([(w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2])
            return np.tile(box, (t, 1)), detected
        hit = np.flatnonzero(detected)
        obs = np.stack([found[i] for i in hit])
        csz = np.stack([np.interp(np.arange(t), hit, obs[:, c]) for c in range(3)], axis=1)
        cx, cy, side = _smooth(csz, self.smooth).T
        half = side * (1 + 2 * self.margin) / 2
        return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1), detected


def face_track(
    frames_grey: np.ndarray, cascade: str = DEFAULT_CASCADE, min_face_frac: float = 0.3,
    smooth: float = 0.6, margin: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """``FaceTracker(...).track(frames_grey)``: ``(boxes (T, 4), detected (T,))``."""
    return FaceTracker(cascade, min_face_frac, smooth, margin).track(frames_grey)


def _crop_window(box: np.ndarray, margin: float) -> tuple[int, int, int]:
    """The square pixel window ``(left, top, side)`` that :func:`crop_faces` cuts at ``box``."""
    x0, y0, x1, y1 = box
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * (1 + 2 * margin) / 2
    return round(cx - half), round(cy - half), max(1, round(2 * half))


def crop_faces(frames: np.ndarray, boxes: np.ndarray, px: int, margin: float = 0.0) -> np.ndarray:
    """Grey square crops ``(T, px, px)`` uint8 of ``frames`` (RGB or grey) at ``boxes``
    (``(x0, y0, x1, y1)``, already holding the tracker's margin; ``margin`` widens them
    further). Parts outside the frame repeat the border pixels; resized with INTER_AREA."""
    grey = to_grey(frames)
    out = np.empty((len(grey), px, px), dtype=np.uint8)
    for k, (f, box) in enumerate(zip(grey, boxes, strict=True)):
        a, b, s = _crop_window(box, margin)
        patch = f[max(0, b) : max(0, b + s), max(0, a) : max(0, a + s)]
        top, left = max(0, -b), max(0, -a)
        bottom, right = s - top - patch.shape[0], s - left - patch.shape[1]
        if patch.size == 0:  # the box misses the frame entirely
            patch = np.full((s, s), int(f.mean()), np.uint8)
        elif top or left or bottom > 0 or right > 0:
            patch = cv2.copyMakeBorder(patch, top, max(0, bottom), left, max(0, right), cv2.BORDER_REPLICATE)
        out[k] = cv2.resize(patch, (px, px), interpolation=cv2.INTER_AREA)
    return out


def crop_coordinates(points: np.ndarray, box: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Image points ``(K, 2)`` (x, y) -> the coordinates of :func:`crop_faces`' crop at ``box``,
    scaled to [-1, 1] over the crop (the convention of ``torch.nn.functional.affine_grid``)."""
    a, b, s = _crop_window(box, margin)
    return np.stack([(points[:, 0] - a) / s * 2 - 1, (points[:, 1] - b) / s * 2 - 1], axis=1).astype(np.float32)


def face_crops(frames: np.ndarray, cfg: VideoFeatures, tracker: FaceTracker | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RGB or grey frames -> ``(crops (T, crop_px, crop_px) uint8, detected (T,) bool)``: the
    whole visual front-end in one call (train and serve use this)."""
    grey = to_grey(frames)
    boxes, detected = (tracker or FaceTracker.from_config(cfg)).track(grey)
    return crop_faces(grey, boxes, cfg.crop_px), detected
