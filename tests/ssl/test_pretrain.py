"""The pretrain stages end to end on the synthetic store: a pretrained encoder, its probe
report, the landmark auxiliary, and the teacher starting from it."""

from __future__ import annotations

import json
import math

import pytest
import torch
import yaml
from safetensors.torch import load_file

from avemo import config
from avemo.models.encoders import build as build_encoder
from avemo.ssl import pretrain
from avemo.train.fit import fit_stream, load_encoder


@pytest.fixture
def ssl_params(raw_params, feature_store, tmp_path) -> config.Params:
    p = yaml.safe_load(yaml.safe_dump(raw_params))
    p["features"]["out_dir"] = feature_store
    p["features"]["audio"]["normalise"] = "global"  # the store plants arousal as a level: keep it
    p["train"].update(max_epochs=2, batch_size=16, patience=10)
    p["model"]["audio"].update(dim=16, stats=False)
    p["model"]["visual"].update(dim=16)
    for stream in ("audio", "visual"):
        p["pretrain"][stream].update(epochs=2, batch_size=16, crop_frames=32)
    p["pretrain"].update(out_dir=str(tmp_path / "pretrain"), reports_dir=str(tmp_path / "reports"))
    p["teacher"]["out_dir"] = str(tmp_path / "teacher")
    p["tracking"].update(mlflow_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_dir=str(tmp_path / "mlruns"))
    return config.parse(p)


@pytest.mark.parametrize("stream", ["audio", "visual"])
def test_stage_writes_encoder_and_probe_report(ssl_params, tmp_path, stream):
    report = pretrain.run(ssl_params, stream, progress=False)
    run_dir = tmp_path / "pretrain" / stream
    for f in ("encoder.safetensors", "config.json", "history.csv"):
        assert (run_dir / f).is_file(), f
    assert list((run_dir / "comet").glob("*.zip")), "offline Comet archive"
    saved = json.loads((tmp_path / "reports" / f"pretrain_{stream}.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert report["objective"] == getattr(ssl_params.pretrain, stream).objective
    for key in ("probe", "random_probe"):
        assert {"ccc_valence", "ccc_arousal", "ccc_mean"} <= set(report[key])
    assert report["probe"] != report["random_probe"]
    assert math.isfinite(report["embedding_std"]) and report["embedding_std"] > 0
    # the exported weights are the encoder the teacher builds from params
    enc = ssl_params.model.audio if stream == "audio" else ssl_params.model.visual
    fresh = build_encoder(enc.name, 16 if stream == "audio" else 24, enc.dim, enc.dropout)
    load_encoder(fresh, run_dir / "encoder.safetensors")


def test_teacher_starts_from_the_pretrained_encoder(ssl_params, tmp_path):
    pretrain.run(ssl_params, "audio", progress=False)
    weights = pretrain.encoder_path(ssl_params, "audio")
    p = ssl_params.model_copy(update={"train": ssl_params.train.model_copy(update={"max_epochs": 1, "lr": 1e-9})})
    fit_stream(p, "audio", tmp_path / "t", "t", progress=False, init_encoder=weights)
    trained = load_file(str(tmp_path / "t" / "model.safetensors"))
    start = load_file(str(weights))
    # with a vanishing learning rate the teacher's encoder is still (almost) the pretrained one
    assert all(torch.allclose(trained[f"encoder.{k}"], v, atol=1e-4) for k, v in start.items())


def test_mismatched_encoder_weights_fail_with_the_file_name(ssl_params, tmp_path):
    pretrain.run(ssl_params, "audio", progress=False)
    wider = build_encoder("audio_cnn", 16, 32, 0.1)
    with pytest.raises(ValueError, match="encoder.safetensors"):
        load_encoder(wider, pretrain.encoder_path(ssl_params, "audio"))
    with pytest.raises(FileNotFoundError, match="pretrain"):
        load_encoder(wider, tmp_path / "missing.safetensors")


def test_landmark_auxiliary_is_trained_and_logged(ssl_params, tmp_path):
    summary = pretrain.pretrain(ssl_params, "visual", "simclr", tmp_path / "lm", "lm", landmarks_weight=1.0,
                                progress=False)
    assert summary["landmarks_weight"] == 1.0
    import pandas as pd

    hist = pd.read_csv(tmp_path / "lm" / "history.csv")
    assert "train_landmarks" in hist and hist["train_landmarks"].notna().all()  # NaN landmarks skipped


def test_landmark_auxiliary_needs_landmarks(ssl_params, tmp_path):
    with pytest.raises(ValueError, match="landmarks"):
        pretrain.pretrain(ssl_params, "audio", "simclr", tmp_path / "x", "x", landmarks_weight=1.0, progress=False)


@pytest.mark.parametrize("stream", ["audio", "visual"])
def test_pretraining_runs_in_bf16_mixed_precision(ssl_params, stream):
    """``train.precision: bf16-mixed`` (the GPU setting) pretrains each stream; on CPU too."""
    p = ssl_params.model_copy(update={"train": ssl_params.train.model_copy(update={"precision": "bf16-mixed"})})
    report = pretrain.run(p, stream, progress=False)
    assert math.isfinite(report["embedding_std"]) and report["embedding_std"] > 0
