"""Probes: every bad file is caught and named; shared files are probed once."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from avemo.validation import probes


@pytest.fixture(scope="module")
def files(tmp_path_factory, kit) -> Path:
    SR, noise, write_avi = kit.SR, kit.noise, kit.write_avi
    d = tmp_path_factory.mktemp("probe_files")
    sf.write(d / "ok.wav", noise(0.5), SR, subtype="PCM_16")
    whole = (d / "ok.wav").read_bytes()
    (d / "truncated.wav").write_bytes(whole[: len(whole) // 2])
    sf.write(d / "rate8k.wav", noise(0.5, rate=8000), 8000, subtype="PCM_16")
    sf.write(d / "stereo.wav", noise(0.5, channels=2), SR, subtype="PCM_16")
    sf.write(d / "zero.wav", np.zeros(0, np.float32), SR, subtype="PCM_16")
    (d / "empty.wav").write_bytes(b"")
    (d / "text.wav").write_bytes(b"<html>not a wav</html>\n" * 50)
    sf.write(d / "ok.sph", noise(1.0), SR, format="NIST", subtype="PCM_16")
    whole = (d / "ok.sph").read_bytes()
    (d / "truncated.sph").write_bytes(whole[: len(whole) - 5000])
    write_avi(d / "ok.avi", 3.0)
    whole = (d / "ok.avi").read_bytes()
    (d / "truncated.avi").write_bytes(whole[: len(whole) // 3])
    (d / "random.avi").write_bytes(np.random.default_rng(0).bytes(3000))
    cv2.imwrite(str(d / "ok.png"), np.full((16, 16, 3), 128, np.uint8))
    cv2.imwrite(str(d / "grey.png"), np.full((16, 16), 128, np.uint8))
    (d / "random.png").write_bytes(np.random.default_rng(1).bytes(300))
    return d


SR = 16000


def test_good_files_pass(files: Path):
    assert probes.probe_audio(files / "ok.wav", SR) == []
    assert probes.probe_audio(files / "ok.sph", SR) == []
    assert probes.probe_video(files / "ok.avi", 3) == []
    assert probes.probe_image(files / "ok.png") == []


@pytest.mark.parametrize("name, check, words", [
    ("truncated.wav", "complete", "truncated"),
    ("truncated.sph", "complete", "truncated"),
    ("rate8k.wav", "sample_rate", "8000 Hz"),
    ("stereo.wav", "mono", "2 channels"),
    ("zero.wav", "not_empty", "zero-length"),
    ("empty.wav", "readable", "cannot be decoded"),
    ("text.wav", "readable", "cannot be decoded"),
])
def test_bad_audio(files: Path, name, check, words):
    problems = probes.probe_audio(files / name, SR)
    assert [p[0] for p in problems] == [check]
    assert words in problems[0][2]


@pytest.mark.parametrize("name", ["random.avi", "truncated.avi"])
def test_bad_video(files: Path, name):
    problems = probes.probe_video(files / name, 3)
    assert len(problems) == 1 and problems[0][0] in ("readable", "frames")


@pytest.mark.parametrize("name, error", [
    ("random.avi", "InvalidDataError: Invalid data found when processing input"),
    ("missing.avi", "FileNotFoundError: No such file or directory"),
])
def test_a_video_that_does_not_open_is_unreadable_with_ffmpegs_reason(files: Path, name, error):
    """The shared opener raises MediaError; the probe reports FFmpeg's own error, without the path."""
    assert probes.probe_video(files / name, 3) == [("readable", None, f"cannot be opened as video ({error})")]


def test_cover_art_is_no_video_stream(files: Path, tmp_path):
    from tiny_clips import write_cover_art

    assert probes.probe_video(write_cover_art(tmp_path / "song.mp4"), 3) == [("readable", None, "has no video stream")]
    assert probes.probe_video(files / "ok.wav", 3) == [("readable", None, "has no video stream")]


@pytest.mark.parametrize("name, check, value, reason", [
    ("empty.png", "image", None, "cannot be decoded as an image"),
    ("rgba.png", "image", 4, "has 4 channel(s) (16, 16, 4), expected a 3-channel colour image"),
])
def test_image_problems(files: Path, tmp_path, name, check, value, reason):
    (tmp_path / "empty.png").write_bytes(b"")
    cv2.imwrite(str(tmp_path / "rgba.png"), np.full((16, 16, 4), 128, np.uint8))
    assert probes.probe_image(tmp_path / name) == [(check, value, reason)]


def test_an_image_that_cannot_be_read_is_unreadable(tmp_path):
    [(check, value, reason)] = probes.probe_image(tmp_path)  # a folder
    assert (check, value) == ("readable", None) and reason.startswith("cannot be read (IsADirectoryError: ")


@pytest.mark.parametrize("name, words", [("grey.png", "1 channel"), ("random.png", "cannot")])
def test_bad_image(files: Path, name, words):
    problems = probes.probe_image(files / name)
    assert len(problems) == 1 and words in problems[0][2]


def test_declared_frames(files: Path):
    assert probes.declared_frames(files / "ok.wav") == SR // 2
    assert probes.declared_frames(files / "truncated.wav") == SR // 2
    assert probes.declared_frames(files / "ok.sph") == SR
    assert probes.declared_frames(files / "ok.png") is None


def test_probe_over_manifests(bad_corpus):
    seen = []
    result = probes.probe(bad_corpus.manifests, bad_corpus.roots, bad_corpus.cfg(),
                          progress=lambda done, total: seen.append((done, total)))
    iemo = bad_corpus.manifests["iemocap"]
    videos = iemo["video_path"].nunique()
    wavs = iemo["audio_path"].nunique() - 1  # one is missing: left to the suites
    assert result.files == videos + wavs + 1 + 3
    assert seen[0] == (0, result.files) and seen[-1] == (result.files, result.files)
    assert len(seen) == result.files + 1
    by_file = {Path(f["file"]).name: f for f in result.failures}
    for f in result.failures:
        assert f["suite"] == "probe" and f["expectation"] == "decodes"
        assert Path(f["file"]).name in f["message"]
    avi = by_file["Ses04F_impro01.avi"]
    assert avi["clip_ids"] == ["Ses04F_impro01_F000", "Ses04F_impro01_M001"]
    assert "used by 2 clip(s)" in avi["message"]
    assert set(by_file) == {
        "Ses01F_impro01_F000.wav", "Ses01F_impro01_M001.wav", "Ses01F_impro01_F002.wav",
        "Ses01F_impro01_M003.wav", "Ses01F_impro01_F004.wav", "Ses04F_impro01.avi", "000001.png",
    }
    assert result.clip_ids["facesynthetics"] == ["000001"]
    bad_rows = set(iemo.index[iemo["clip_id"].str.startswith("Ses04")])
    assert bad_rows <= set(result.affected["iemocap"])
