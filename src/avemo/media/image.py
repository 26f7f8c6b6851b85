"""Still images, decoded with OpenCV from the file's bytes (any path, any suffix)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avemo.media.files import MediaError


def decode_image(path: str | Path, unchanged: bool = False) -> np.ndarray | None:
    """An image file as OpenCV decodes it: BGR uint8 ``(H, W, 3)``, or with ``unchanged`` as
    stored (``(H, W)`` grey, ``(H, W, 4)`` BGRA, 16-bit ...); None when the bytes (none
    included) are not an image. Raises ``OSError`` when the file cannot be read."""
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED if unchanged else cv2.IMREAD_COLOR) if data.size else None


def read_image(path: str | Path) -> np.ndarray:
    """One image as RGB uint8 ``(H, W, 3)``; :class:`MediaError` when it is not an image."""
    import cv2

    img = decode_image(path)
    if img is None:
        raise MediaError(f"{path}: cannot be decoded as an image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
