"""The bench peers: eGeMAPS and HOG features, ridge tuned on validation, and the checks."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from md_tables import table_rows

from avemo.bench import peers, stage
from avemo.config import BenchConfig
from avemo.features import store


def test_ridge_is_tuned_on_val_and_predicts_a_linear_target():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(20, 2))
    x = {s: rng.normal(size=(n, 20)) for s, n in (("train", 200), ("val", 60), ("test", 60))}
    y = {s: np.tanh(0.3 * v @ w) for s, v in x.items()}
    pred, alphas = peers.ridge(x, y)
    assert pred.shape == (60, 2) and np.abs(pred).max() <= 1
    assert set(alphas) == {"valence", "arousal"} and all(a in peers.ALPHAS for a in alphas.values())
    assert np.corrcoef(pred[:, 0], y["test"][:, 0])[0, 1] > 0.9


def test_hog_describes_every_clip_from_its_face_crops(feature_store):
    split = store.read(feature_store, "iemocap", "test")
    h = peers.hog(split, frame_step=2)
    assert h.shape[0] == len(split) and h.shape[1] % 2 == 0 and np.isfinite(h).all()
    assert (h[:, h.shape[1] // 2 :] >= 0).all()  # the second half is the std over frames


def test_egemaps_gives_the_88_functionals_per_utterance(tmp_path):
    rng = np.random.default_rng(1)
    for k in range(2):
        t = np.arange(16000) / 16000
        sf.write(tmp_path / f"u{k}.wav", (0.2 * np.sin(2 * np.pi * (120 + 60 * k) * t)
                                          + 0.01 * rng.normal(size=t.size)).astype(np.float32), 16000)
    split = store.Split(pd.DataFrame({"audio_path": ["u0.wav", "u1.wav"]}), {})
    f = peers.egemaps(split, tmp_path)
    assert f.shape == (2, 88) and np.isfinite(f).all() and not np.allclose(f[0], f[1])


def _acc(v: float, a: float) -> dict:
    return {"ccc_valence": v, "ccc_arousal": a, "ccc_mean": (v + a) / 2}


def test_checks_compare_against_the_configured_targets():
    report = {"accuracy": {"avemo_audio": _acc(0.3, 0.85), "avemo_visual": _acc(0.7, 0.3), "avemo_fused": _acc(0.8, 0.84),
                           "egemaps_ridge": _acc(0.1, 0.78), "hog_ridge": _acc(0.6, 0.3),
                           "egemaps_hog_ridge": _acc(0.6, 0.7), "oracle": _acc(0.95, 0.93)},
              "speed": {"audio": {"audio_features_x_opensmile": 12.0, "avemo_x_realtime": 1000.0,
                                  "opensmile_x_realtime": 80.0},
                        "predict": {"seconds": 60.0, "realtime_x": 50.0}},
              "pipeline": {"repro_s": 700.0, "noop_repro_s": 2.0, "peak_rss_mb": 2000.0}}
    c = stage.checks(report, BenchConfig())
    assert c["figures"]["audio_arousal_minus_egemaps"] == pytest.approx(0.07)
    assert c["figures"]["fused_minus_best_peer"] == pytest.approx(0.82 - 0.65)
    assert c["met"] == {"audio_arousal_minus_egemaps": True, "fused_minus_best_peer": True,
                        "fused_over_oracle": False, "audio_features_x_opensmile": True, "repro_s": False}
    md = stage.table(report)
    assert ["egemaps_ridge", "0.100", "0.780", "0.440"] in table_rows(md)
    assert ["default `dvc repro --force`", "11.7 min"] in table_rows(md)


def test_the_pipeline_is_timed_before_its_models_are_scored(monkeypatch, train_params):
    """`avemo bench --repro` reruns the pipeline, which rewrites the models: scoring them first
    would report the previous run's models beside this run's timing."""
    calls = []
    monkeypatch.setattr(stage.speed, "repro", lambda: calls.append("repro") or {"repro_s": 1.0})
    monkeypatch.setattr(stage, "accuracy", lambda p, ids, progress=None: calls.append(("accuracy", list(ids))) or {})
    monkeypatch.setattr(stage.speed, "audio_features", lambda *a, **k: calls.append("audio") or {})
    monkeypatch.setattr(stage.speed, "predict", lambda *a, **k: calls.append("predict") or {})
    monkeypatch.setattr(stage, "checks", lambda report, cfg: {})
    index = pd.DataFrame({"clip_id": ["Ses05F_impro01_F000"], "audio_path": ["a.wav"]})
    monkeypatch.setattr(store, "read", lambda *a: calls.append("read") or store.Split(index, {}))
    report = stage.run(train_params, train_params, repro=True)
    assert calls[0] == "repro" and report["pipeline"] == {"repro_s": 1.0}
    assert ("accuracy", ["Ses05F_impro01_F000"]) in calls and calls.count("read") == 1  # the split is read once
