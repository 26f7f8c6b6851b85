"""avemo.media.image: still images as RGB, or as stored."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from avemo import media
from avemo.media import MediaError
from avemo.media.image import decode_image


def test_read_rgb_of_an_image(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    path = tmp_path / "000001.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    frames, fps = media.read_rgb(path)
    assert fps == 0.0 and frames.shape == (1, *rgb.shape)
    np.testing.assert_array_equal(frames[0], rgb)
    np.testing.assert_array_equal(media.read_image(path), rgb)


def test_decode_image_as_stored_or_as_colour(tmp_path):
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((16, 12), 128, np.uint8))
    assert decode_image(tmp_path / "grey.png", unchanged=True).shape == (16, 12)
    assert decode_image(tmp_path / "grey.png").shape == (16, 12, 3)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(1).bytes(300))
    assert decode_image(tmp_path / "empty.png") is None and decode_image(tmp_path / "noise.png") is None
    with pytest.raises(OSError):
        decode_image(tmp_path / "missing.png")


def test_read_image_rejects_what_is_not_an_image(tmp_path):
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(1).bytes(300))
    with pytest.raises(MediaError, match="noise.png: cannot be decoded as an image"):
        media.read_image(tmp_path / "noise.png")
