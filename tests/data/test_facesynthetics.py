from pathlib import Path

import cv2
import numpy as np
import pytest

from avemo.data import facesynthetics, manifest
from avemo.data.errors import IngestError


def landmarks_text(n: int = 70) -> str:
    return "".join(f"{i}.5 {2 * i}.25\n" for i in range(n))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    for i in (0, 1, 2):
        cv2.imwrite(str(tmp_path / f"{i:06d}.png"), img)
        cv2.imwrite(str(tmp_path / f"{i:06d}_seg.png"), img[..., 0])
    (tmp_path / "000000_ldmks.txt").write_text(landmarks_text())
    (tmp_path / "000002_ldmks.txt").write_text(landmarks_text())
    (tmp_path / "._000003.png").write_bytes(b"\x00\x05\x16\x07")
    (tmp_path / "1234567.png").write_bytes(b"")
    (tmp_path / "readme.txt").write_text("x")
    return tmp_path


def test_read(folder: Path) -> None:
    df, missing = facesynthetics.read(folder)
    assert missing == 1  # 000001 has no landmark file but is kept
    assert list(df.columns) == manifest.COLUMNS
    assert {c: str(t) for c, t in df.dtypes.items()} == manifest.SCHEMA
    assert list(df["clip_id"]) == ["000000", "000001", "000002"]
    assert list(df["video_path"]) == ["000000.png", "000001.png", "000002.png"]
    assert (df["split"] == "unlabelled").all() and (df["label_source"] == "none").all()
    assert (df["label_weight"] == 0.0).all() and (df["corpus"] == "facesynthetics").all()
    na = ["speaker", "session", "audio_path", "start_s", "end_s", "duration_s", "sample_rate",
          *manifest.LABELS, "category"]
    assert df[na].isna().all().all()


def test_read_landmarks(tmp_path: Path) -> None:
    path = tmp_path / "000000_ldmks.txt"
    path.write_text(landmarks_text() + "\n")  # a trailing blank line is fine
    pts = facesynthetics.read_landmarks(path)
    assert pts.shape == (70, 2) and pts.dtype == np.float32
    assert tuple(pts[3]) == (3.5, 6.25)


def test_landmarks_wrong_count(tmp_path: Path) -> None:
    path = tmp_path / "000000_ldmks.txt"
    path.write_text(landmarks_text(69))
    with pytest.raises(IngestError, match=r"000000_ldmks\.txt: 69 landmark lines, expected 70"):
        facesynthetics.read_landmarks(path)


@pytest.mark.parametrize("bad", ["1.0 abc", "1.0", "1 2 3"])
def test_landmarks_bad_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "000000_ldmks.txt"
    path.write_text("1 2\n" + bad + "\n" + landmarks_text(68))
    with pytest.raises(IngestError, match=r"000000_ldmks\.txt:2: .*'x y'"):
        facesynthetics.read_landmarks(path)
