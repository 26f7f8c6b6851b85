"""Training end to end on a synthetic store: a fast run, identical reruns, exact resume."""

from pathlib import Path

import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from safetensors.torch import load_file

from avemo.train.fit import fit_stream


class Interrupt(pl.Callback):
    """Simulates a crash at the start of epoch ``at`` (after the last checkpoint was saved)."""

    def __init__(self, at: int):
        self.at = at

    def on_train_epoch_start(self, trainer, module):
        if trainer.current_epoch == self.at:
            raise RuntimeError("simulated crash")


@pytest.mark.parametrize("stream", ["audio", "visual"])
def test_fast_run_learns_and_writes_outputs(train_params, tmp_path, stream):
    run = tmp_path / stream
    scores = fit_stream(train_params, stream, run, f"test_{stream}", progress=False)
    for f in ("model.safetensors", "config.json", "predictions.parquet", "history.csv", "pred_vs_true.png"):
        assert (run / f).is_file(), f
    strong = "arousal" if stream == "audio" else "valence"
    assert scores["val"][f"ccc_{strong}"] > 0.3  # the planted cue is learnt in 4 epochs
    preds = pd.read_parquet(run / "predictions.parquet")
    assert set(preds["split"]) == {"val", "test"} and len(preds) == 48
    assert len(pd.read_csv(run / "history.csv")) == 4


def test_rerun_gives_identical_metrics(train_params, tmp_path):
    a = fit_stream(train_params, "audio", tmp_path / "a", "rerun_a", progress=False)
    b = fit_stream(train_params, "audio", tmp_path / "b", "rerun_b", progress=False)
    assert a == b


def test_resume_after_crash_matches_uninterrupted(train_params, tmp_path):
    full = fit_stream(train_params, "audio", tmp_path / "full", "full", progress=False)
    run = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit_stream(train_params, "audio", run, "crashed", extra_callbacks=[Interrupt(2)], progress=False)
    assert (run / "checkpoints" / "last.ckpt").is_file()
    resumed = fit_stream(train_params, "audio", run, "crashed", resume=True, progress=False)
    assert resumed == full
    wa, wb = load_file(str(tmp_path / "full" / "model.safetensors")), load_file(str(run / "model.safetensors"))
    assert all((wa[k] == wb[k]).all() for k in wa)
    assert len(pd.read_csv(run / "history.csv")) == len(pd.read_csv(tmp_path / "full" / "history.csv"))


def test_weights_are_safetensors_only(train_params, tmp_path):
    fit_stream(train_params, "visual", tmp_path / "v", "v", progress=False)
    exported = [p.name for p in Path(tmp_path / "v").iterdir() if p.is_file()]
    assert "model.safetensors" in exported and not any(n.endswith((".pt", ".pth", ".pkl")) for n in exported)


def test_label_fraction_runs_as_many_steps_as_a_full_run(train_params, tmp_path):
    from avemo.train.fit import epoch_scale

    assert [epoch_scale(f) for f in (1.0, 0.5, 0.25, 0.1)] == [1, 2, 4, 10]
    fit_stream(train_params, "audio", tmp_path / "q", "q", progress=False, train_fraction=0.25)
    hist = pd.read_csv(tmp_path / "q" / "history.csv")
    assert len(hist) == 4 * train_params.train.max_epochs  # 16 train rows over the 16-clip subset
    assert hist["val_ccc_mean"].notna().sum() >= 4


def test_student_learning_rate_follows_the_labels_its_teacher_missed():
    from avemo.train.fit import MIN_LR_MULT, student_lr_mult

    assert student_lr_mult(1.0) == MIN_LR_MULT  # the teacher saw every label: fine-tune, never stand still
    assert student_lr_mult(0.95) == MIN_LR_MULT
    assert student_lr_mult(0.25) == pytest.approx(0.75)
    assert student_lr_mult(0.1) == pytest.approx(0.9)  # a weak teacher: relearn at nearly the full rate


def test_pretrained_encoder_learns_at_its_own_rate():
    from avemo.train.module import EmotionModule

    m = EmotionModule("audio_cnn", 16, ["valence", "arousal"], dim=8, lr=0.01, encoder_lr_mult=0.1)
    groups = m.configure_optimizers()["optimizer"].param_groups
    assert [g["lr"] for g in groups] == [0.01, pytest.approx(0.001)]  # the encoder last, as BackboneFinetuning adds it
    n_enc = sum(p.numel() for p in m.model.encoder.parameters())
    assert sum(p.numel() for p in groups[1]["params"]) == n_enc
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(p.numel() for p in m.parameters())


def test_teacher_initialises_only_the_listed_streams(train_params):
    from avemo.train.teacher import init_encoder

    p = train_params.model_copy(update={"teacher": train_params.teacher.model_copy(
        update={"init_from_pretrained": ["audio"]})})
    assert init_encoder(p, "audio").name == "encoder.safetensors"
    assert init_encoder(p, "visual") is None


class EncoderSnapshots(pl.Callback):
    def __init__(self):
        self.snaps = []

    def on_train_epoch_end(self, trainer, module):
        self.snaps.append({k: v.detach().clone() for k, v in module.model.encoder.state_dict().items()})


def test_lp_ft_keeps_the_pretrained_encoder_frozen_then_fine_tunes(train_params, tmp_path):
    from safetensors.torch import save_file

    from avemo.train.module import EmotionModule

    enc = EmotionModule("audio_cnn", 16, ["valence", "arousal"], dim=train_params.model.audio.dim).model.encoder
    init = tmp_path / "encoder.safetensors"
    save_file({k: v.contiguous() for k, v in enc.state_dict().items()}, str(init))
    p = train_params.model_copy(update={"train": train_params.train.model_copy(
        update={"pretrained_freeze_epochs": {"audio": 2}})})
    snaps = EncoderSnapshots()
    fit_stream(p, "audio", tmp_path / "lpft", "lpft", progress=False, init_encoder=init, extra_callbacks=[snaps])
    start = load_file(str(init))
    same = [all(torch.equal(s[k], start[k]) for k in start if "running" not in k) for s in snaps.snaps]
    assert same[:2] == [True, True] and not any(same[2:])  # linear probe for 2 epochs, then fine-tuning


def test_utterance_stats_recover_a_level_cue(train_params, tmp_path):
    """The store plants arousal as a level, which per-utterance normalisation removes; a model
    with utterance statistics reads it back from the raw log-mel, and pseudo-labelling feeds it
    the same raw input."""
    import json

    from avemo.features import store
    from avemo.models import regressor
    from avemo.pseudo.infer import mc_dropout

    feats = train_params.features.model_copy(update={"audio": train_params.features.audio.model_copy(
        update={"normalise": "utterance"})})
    model = train_params.model.model_copy(update={"audio": train_params.model.audio.model_copy(update={"stats": True})})
    p = train_params.model_copy(update={"features": feats, "model": model})
    scores = fit_stream(p, "audio", tmp_path / "stats", "stats", progress=False)
    assert scores["val"]["ccc_arousal"] > 0.3
    assert json.loads((tmp_path / "stats" / "config.json").read_text())["stats"] is True
    m, _ = regressor.load(tmp_path / "stats")
    data = store.read(p.features.out_dir, "iemocap", "val")
    mean, _ = mc_dropout(m, data, "audio", p.features.out_dir, "utterance", 1, passes=1, seed=0)
    pred = pd.read_parquet(tmp_path / "stats" / "predictions.parquet").query("split == 'val'")
    assert abs(mean[:, 1] - pred["pred_arousal"].to_numpy()).max() < 1e-4


def test_per_stream_lr_and_epochs_reach_the_run(train_params, tmp_path):
    train = train_params.train.model_copy(update={"max_epochs": {"audio": 4, "visual": 2},
                                                  "lr": {"audio": 0.01, "visual": 0.002}})
    fit_stream(train_params.model_copy(update={"train": train}), "visual", tmp_path / "v", "v", progress=False)
    assert len(pd.read_csv(tmp_path / "v" / "history.csv")) == 2
    ckpt = torch.load(tmp_path / "v" / "checkpoints" / "last.ckpt", weights_only=False)  # our own file
    assert ckpt["hyper_parameters"]["lr"] == 0.002


@pytest.mark.parametrize("stream", ["audio", "visual"])
def test_both_streams_train_in_bf16_mixed_precision(train_params, tmp_path, stream):
    """``train.precision: bf16-mixed`` (the GPU setting) trains each stream; on CPU too."""
    p = train_params.model_copy(update={"train": train_params.train.model_copy(update={"precision": "bf16-mixed",
                                                                                        "max_epochs": 1})})
    scores = fit_stream(p, stream, tmp_path / stream, f"bf16_{stream}", progress=False)
    assert all(torch.isfinite(torch.tensor(v)) for v in scores["val"].values())
    assert (tmp_path / stream / "model.safetensors").is_file()


def test_worker_processes_train_the_same_model(train_params, tmp_path):
    """``train.num_workers: 2`` (persistent workers) trains exactly the model one process does:
    every crop and augmentation is a function of (seed, epoch, clip), not of the worker."""
    p = train_params.model_copy(update={"train": train_params.train.model_copy(update={"max_epochs": 2})})
    workers = p.model_copy(update={"train": p.train.model_copy(update={"num_workers": 2})})
    a = fit_stream(p, "audio", tmp_path / "a", "w0", progress=False)
    b = fit_stream(workers, "audio", tmp_path / "b", "w2", progress=False)
    assert a == b
    wa, wb = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_deterministic_warn_mode_trains(train_params, tmp_path):
    """``train.deterministic: warn`` (what ``true`` becomes on CUDA) is a setting Lightning takes."""
    p = train_params.model_copy(update={"train": train_params.train.model_copy(
        update={"deterministic": "warn", "max_epochs": 1})})
    scores = fit_stream(p, "visual", tmp_path / "v", "warn", progress=False)
    assert set(scores) == {"val", "test"}


def test_training_runs_without_tracking_backends(train_params, tmp_path):
    """``tracking.backends: []``: no MLflow run, no Comet archive, the same outputs."""
    p = train_params.model_copy(update={"tracking": train_params.tracking.model_copy(update={"backends": []}),
                                        "train": train_params.train.model_copy(update={"max_epochs": 1})})
    fit_stream(p, "audio", tmp_path / "a", "bare", progress=False)
    assert (tmp_path / "a" / "model.safetensors").is_file()
    assert not (tmp_path / "a" / "comet").exists()
    assert not Path(p.tracking.mlflow_uri.removeprefix("sqlite:///")).exists()


def test_augmenting_on_the_device_trains_the_same_model(train_params, tmp_path):
    p = train_params.model_copy(update={"train": train_params.train.model_copy(update={"max_epochs": 2})})
    on = p.model_copy(update={"augment": p.augment.model_copy(update={"on_device": True})})
    assert fit_stream(p, "visual", tmp_path / "a", "cpu_aug", progress=False) == \
        fit_stream(on, "visual", tmp_path / "b", "device_aug", progress=False)
