"""The FaceSynthetics scale benchmark's corpus generator and its measured ingest step."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from avemo.data import facesynthetics, manifest
from benchmarks import facesynthetics_scale as bench

IMAGES = 50


def test_corpus_layout_and_ingest_step(tmp_path: Path):
    root = tmp_path / "dataset"
    files = bench.make_corpus(root, IMAGES, image_px=64)
    names = set(os.listdir(root))
    assert files == len(names) == 3 * IMAGES + 3 * bench.MACOS_JUNK
    for i in (0, IMAGES - 1):
        assert {f"{i:06d}.png", f"{i:06d}_ldmks.txt", f"{i:06d}_seg.png"} <= names
    assert {"._000000.png", "._000000_ldmks.txt", "._000000_seg.png"} <= names

    img = cv2.imread(str(root / "000007.png"), cv2.IMREAD_UNCHANGED)
    seg = cv2.imread(str(root / "000007_seg.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape == (64, 64, 3) and seg.shape == (64, 64)
    assert len(np.unique(seg)) > 3  # background, skin, eyes, ... labels
    points = facesynthetics.read_landmarks(root / "000007_ldmks.txt")
    assert points.shape == (facesynthetics.N_LANDMARKS, 2)
    assert (points >= 0).all() and (points < 64).all()

    out = tmp_path / "interim" / "facesynthetics.parquet"
    figures = bench.in_fresh_process(bench.ingest_step, str(root), str(out))
    assert figures["rows"] == IMAGES and figures["images_without_landmarks"] == 0
    assert figures["seconds"] >= 0 and figures["peak_rss_mb"] >= figures["start_rss_mb"] > 0
    df = manifest.read(out)
    assert df["video_path"].tolist() == [f"{i:06d}.png" for i in range(IMAGES)]
