"""`avemo predict FILE`: a time series and a plot for a media file; bad input exits non-zero
with the file named and nothing written."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from avemo.cli import app

runner = CliRunner()


@pytest.fixture
def args(model_dir, tmp_path):
    return ["--model", str(model_dir), "--out", str(tmp_path / "out")]


def test_predict_writes_a_csv_series_and_a_plot(media_files, args, tmp_path):
    res = runner.invoke(app, ["predict", str(media_files["av"]), *args])
    assert res.exit_code == 0, res.output
    series = pd.read_csv(tmp_path / "out" / "talk.avi.csv")
    assert list(series.columns[:5]) == ["time_s", "start_s", "end_s", "valence", "arousal"]
    assert {"audio_valence", "visual_arousal", "streams"} <= set(series.columns)
    assert len(series) == 3 and series["valence"].between(-1, 1).all()  # 6 s, 4 s windows, 1 s hop
    assert (tmp_path / "out" / "talk.avi.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_json_carries_the_summary_and_the_fallback_note(media_files, args, tmp_path):
    res = runner.invoke(app, ["predict", str(media_files["wav"]), *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "no video stream" in res.output
    doc = json.loads((tmp_path / "out" / "voice.wav.json").read_text())
    assert doc["summary"]["streams"] == ["audio"] and doc["notes"] and len(doc["series"]) == 1


def test_predict_refuses_bad_files_and_missing_models(tmp_path, args, model_dir):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"definitely not a video")
    res = runner.invoke(app, ["predict", str(bad), *args])
    assert res.exit_code == 1 and "clip.mp4" in res.output
    assert not (tmp_path / "out").exists()
    res = runner.invoke(app, ["predict", str(bad), "--model", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "avemo fuse" in res.output
    res = runner.invoke(app, ["predict", str(bad), *args, "--format", "xml"])
    assert res.exit_code == 2 and "csv" in res.output


def test_predict_on_a_real_photograph_and_real_speech(real_clip, args, tmp_path):
    """The Haar face track finds a real face (not only rendered ones) and both streams are used."""
    res = runner.invoke(app, ["predict", str(real_clip), *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "out" / "hopper.mp4.json").read_text())
    assert doc["summary"]["face_rate"] >= 0.9 and "face in" in res.output
    assert doc["summary"]["streams"] == ["audio+visual"] and not doc["notes"]
    series = pd.DataFrame(doc["series"])
    values = series[["valence", "arousal", "audio_valence", "visual_arousal"]].to_numpy()
    assert len(series) >= 3 and np.isfinite(values).all() and (np.abs(values) <= 1).all()


def test_predict_on_a_real_speech_recording(args, tmp_path):
    import real_media

    res = runner.invoke(app, ["predict", str(real_media.speech_path()), *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "out" / "arctic_a0007.wav.json").read_text())
    assert doc["summary"]["streams"] == ["audio"] and doc["summary"]["face_rate"] is None
    assert np.isfinite([doc["summary"]["valence"], doc["summary"]["arousal"]]).all()


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_is_applied_before_face_tracking(rotation, args, tmp_path):
    """A phone video: frames stored turned, with a display rotation. The face is only found
    once the frames are turned upright."""
    import real_media

    k = round(rotation / 90)
    frames = [np.ascontiguousarray(np.rot90(f, -k)) for f in real_media.still_frames(5.0, 10)]
    path = real_media.write_video(tmp_path / "phone.mp4", frames, 10, np.resize(real_media.speech(), 5 * 16000),
                                  16000, rotation=rotation)
    res = runner.invoke(app, ["predict", str(path), *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "phone.mp4.json").read_text())["summary"]
    assert summary["face_rate"] >= 0.9
