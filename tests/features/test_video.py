import numpy as np
import pytest

from avemo.config import VideoFeatures
from avemo.features import video


def _inside(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    return ((outer[:, 0] <= inner[:, 0]) & (outer[:, 1] <= inner[:, 1])
            & (outer[:, 2] >= inner[:, 2]) & (outer[:, 3] >= inner[:, 3]))


def test_track_finds_the_face_and_its_box_covers_the_landmarks(face_clip):
    grey = video.to_grey(face_clip.frames)
    boxes, detected = video.face_track(grey)
    assert boxes.shape == (len(grey), 4) and detected.shape == (len(grey),) and detected.dtype == bool
    assert detected.mean() > 0.9
    assert _inside(face_clip.landmarks_box, boxes).all()
    side = boxes[:, 2] - boxes[:, 0]
    assert np.allclose(side, boxes[:, 3] - boxes[:, 1])  # square
    assert (side < 0.8 * grey.shape[1]).all()  # a face box, not the fallback


def test_blank_frames_fall_back_to_a_centre_square():
    grey = np.full((5, 60, 100), 128, np.uint8)
    boxes, detected = video.face_track(grey)
    assert not detected.any()
    np.testing.assert_allclose(boxes, np.tile([20, 0, 80, 60], (5, 1)))


def test_frames_without_detection_take_the_neighbouring_boxes(face_clip):
    grey = video.to_grey(face_clip.frames).copy()
    grey[5:8] = 128  # three blank frames in the middle, and the first one
    grey[0] = 128
    boxes, detected = video.FaceTracker(smooth=0.0).track(grey)
    assert not detected[[0, 5, 6, 7]].any() and detected[[1, 4, 8]].all()
    np.testing.assert_allclose(boxes[0], boxes[1])  # nearest at the ends
    lo, hi = np.minimum(boxes[4], boxes[8]), np.maximum(boxes[4], boxes[8])
    assert ((boxes[5:8] >= lo - 1e-9) & (boxes[5:8] <= hi + 1e-9)).all()  # interpolated inside


def test_smoothing_reduces_jitter(face_clip):
    grey = video.to_grey(face_clip.frames)
    raw, _ = video.face_track(grey, smooth=0.0)
    smooth, _ = video.face_track(grey, smooth=0.6)

    def jitter(b):
        centre = (b[:, :2] + b[:, 2:]) / 2
        return np.abs(np.diff(centre, n=2, axis=0)).mean()

    assert jitter(raw) > 0
    assert jitter(smooth) < 0.7 * jitter(raw)


def test_crops_shape_dtype_and_out_of_frame_boxes(face_clip):
    grey = video.to_grey(face_clip.frames)
    boxes, _ = video.face_track(grey)
    crops = video.crop_faces(face_clip.frames, boxes, 48)
    assert crops.shape == (len(grey), 48, 48) and crops.dtype == np.uint8
    assert crops.std() > 10  # a face, not a flat patch
    np.testing.assert_array_equal(video.crop_faces(grey, boxes, 48), crops)  # RGB or grey input
    edge = video.crop_faces(grey[:2], np.array([[-30.0, -30, 50, 50], [900, 900, 950, 950]]), 32)
    assert edge.shape == (2, 32, 32)
    wider = video.crop_faces(grey[:1], boxes[:1], 48, margin=0.5)
    assert not np.array_equal(wider[0], crops[0])


def test_face_crops_runs_the_whole_front_end(face_clip):
    cfg = VideoFeatures(crop_px=32)
    crops, detected = video.face_crops(face_clip.frames, cfg)
    assert crops.shape == (len(face_clip.frames), 32, 32) and detected.mean() > 0.9


def test_speaker_half():
    frames = np.zeros((2, 4, 6, 3), np.uint8)
    frames[:, :, 3:] = 255
    assert video.speaker_half(frames, "left").shape == (2, 4, 3, 3) and video.speaker_half(frames, "left").max() == 0
    assert video.speaker_half(frames, "right").min() == 255
    with pytest.raises(ValueError):
        video.speaker_half(frames, "top")


def test_unknown_cascade_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="Haar cascade"):
        video.load_cascade("no_such_cascade.xml")


def test_crop_coordinates_follow_crop_faces():
    """A bright dot at image point P lands in the crop where crop_coordinates says."""
    img = np.zeros((1, 120, 160), np.uint8)
    pts = np.array([[70.0, 50.0], [95.0, 80.0], [40.0, 30.0]])
    for x, y in pts:
        img[0, int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2] = 255
    box = np.array([30.0, 20.0, 110.0, 100.0])
    crop = video.crop_faces(img, box[None], 80)[0]
    uv = video.crop_coordinates(pts, box)
    assert uv.shape == (3, 2) and (np.abs(uv) <= 1).all()
    for (u, v) in uv:
        col, row = (u + 1) / 2 * 80, (v + 1) / 2 * 80
        patch = crop[int(row) - 2 : int(row) + 3, int(col) - 2 : int(col) + 3]
        assert patch.max() > 200, (u, v)
