"""The inference pipeline on real media files: windows, fallbacks, bounded chunks."""

import numpy as np
import pytest

from avemo.config import PredictConfig
from avemo.media import MediaError
from avemo.serve.pipeline import Pipeline, windows


def test_windows_cover_the_file_and_end_at_its_end():
    np.testing.assert_allclose(windows(10.0, 4.0, 1.0), [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(windows(10.5, 4.0, 2.0), [0, 2, 4, 6, 6.5])
    np.testing.assert_allclose(windows(3.0, 4.0, 1.0), [0])


@pytest.fixture(scope="module")
def pipeline(model_dir):
    return Pipeline.from_dir(model_dir, PredictConfig(window_s=2.0, hop_s=1.0))


def test_audio_visual_file_uses_both_streams_and_fuses_them(pipeline, media_files):
    r = pipeline.predict_file(media_files["av"])
    s = r.series
    assert len(s) == 5 and r.notes == []
    assert (s["streams"] == "audio+visual").all() and (s["face_rate"] > 0.5).all()
    np.testing.assert_allclose(s["time_s"], [1, 2, 3, 4, 5])
    w = pipeline.model.fusion.weights().numpy()  # late fusion: a per-dimension mix of the streams
    for k, d in enumerate(("valence", "arousal")):
        want = np.clip(w[0, k] * s[f"audio_{d}"] + w[1, k] * s[f"visual_{d}"], -1, 1)
        np.testing.assert_allclose(s[d], want, atol=1e-4)
    assert r.summary["windows"] == 5 and r.summary["streams"] == ["audio+visual"]


@pytest.mark.parametrize(("name", "streams", "note"), [
    ("no_face", "audio", "no face detected"),
    ("video_only", "visual", "no audio stream"),
    ("wav", "audio", "no video stream"),
])
def test_a_missing_stream_falls_back_to_the_other_and_says_so(pipeline, media_files, name, streams, note):
    r = pipeline.predict_file(media_files[name])
    assert set(r.series["streams"]) == {streams}
    assert any(note in n for n in r.notes)
    other = "visual" if streams == "audio" else "audio"
    assert r.series[f"{other}_valence"].isna().all()
    np.testing.assert_allclose(r.series["valence"], r.series[f"{streams}_valence"], atol=1e-5)


def test_reading_in_small_chunks_gives_the_same_series(model_dir, media_files):
    big = Pipeline.from_dir(model_dir, PredictConfig(window_s=2.0, hop_s=1.0, chunk_s=60.0))
    small = Pipeline.from_dir(model_dir, PredictConfig(window_s=2.0, hop_s=1.0, chunk_s=2.0))
    a, b = big.predict_file(media_files["av"]).series, small.predict_file(media_files["av"]).series
    np.testing.assert_allclose(a["time_s"], b["time_s"])
    np.testing.assert_allclose(a[["valence", "arousal"]], b[["valence", "arousal"]], atol=0.05)


def test_bad_input_is_refused_with_the_file_named(pipeline, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(MediaError, match="notes.txt"):
        pipeline.predict_file(bad)
    with pytest.raises(ValueError, match="no audio and no detectable face"):
        pipeline.predict_clip(np.zeros(0, np.float32), None)


def test_a_model_with_utterance_stats_gets_the_raw_log_mel(fused_config):
    """Such a model normalises its own input: the pipeline must not normalise it first, or the
    level the statistics read would be gone (and the encoder would see it normalised twice)."""
    import torch

    from avemo.features.audio import utterance_normalise
    from avemo.models import fused

    cfg = fused_config()
    cfg["streams"]["audio"]["stats"] = True
    wave = (0.1 * np.sin(np.linspace(0, 2000, 16000))).astype("float32")
    raw = Pipeline(fused.build(cfg), cfg)
    plain_cfg = fused_config()
    plain = Pipeline(fused.build(plain_cfg), plain_cfg)
    mel = raw.log_mel(wave)
    assert torch.equal(raw.audio_input(wave), mel)
    assert torch.allclose(plain.audio_input(wave), utterance_normalise(mel))
    assert set(raw.predict_clip(wave=wave)["fused"]) == {"valence", "arousal"}


def test_a_file_over_its_time_budget_stops_between_chunks(model_dir, media_files):
    import time

    from avemo.serve.pipeline import OverBudget, Pipeline

    pipe = Pipeline.from_dir(model_dir)
    with pytest.raises(OverBudget, match="time budget"):
        pipe.predict_file(media_files["av"], deadline=time.monotonic() - 1)
    assert pipe.predict_file(media_files["av"], deadline=time.monotonic() + 60).summary["windows"] == 3
