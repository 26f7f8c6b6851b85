"""Tracking: a real 2-epoch Lightning fit logged to MLflow (sqlite) and an offline Comet archive."""

from __future__ import annotations

import os
import random
import socket
import zipfile
from pathlib import Path

import comet_archive
import pandas as pd
import pytest

from avemo import tracking
from avemo.config import TrackingConfig

SENTINEL = "hf_avemoSentinelTokenValue0123456789"
PARAMS = {"train": {"lr": 0.002, "batch_size": 4}, "model": {"targets": ["valence", "arousal"]}, "seed": 7}


# --- URI and params (no heavy imports) -------------------------------------------------------


def test_mlflow_uri_resolves_relative_sqlite(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    uri = tracking.mlflow_uri(TrackingConfig(mlflow_uri="sqlite:///db/mlruns.db"))
    assert uri == f"sqlite:///{tmp_path.resolve()}/db/mlruns.db"
    assert uri.startswith("sqlite:////")
    assert tracking.mlflow_uri(TrackingConfig(mlflow_uri="sqlite:////abs/x.db")) == "sqlite:////abs/x.db"
    assert tracking.mlflow_uri(TrackingConfig(mlflow_uri="http://host:5000")) == "http://host:5000"


def test_mlflow_uri_env_overrides(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///other.db")
    assert tracking.mlflow_uri(TrackingConfig()) == f"sqlite:///{tmp_path.resolve()}/other.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    assert tracking.mlflow_uri(TrackingConfig()) == "http://mlflow:5000"


def test_flatten_params():
    assert tracking.flatten_params(PARAMS) == {
        "train.lr": 0.002, "train.batch_size": 4, "model.targets": ["valence", "arousal"], "seed": 7,
    }
    flat = tracking.flatten_params(TrackingConfig())
    assert flat["experiment"] == "avemo" and flat["comet_workspace"] is None


def test_comet_online_only_with_a_key(monkeypatch):
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    assert not tracking.comet_online()
    monkeypatch.setenv("COMET_API_KEY", "  ")
    assert not tracking.comet_online()
    monkeypatch.setenv("COMET_API_KEY", "not-a-real-key")
    assert tracking.comet_online()


def test_only_rank_zero_logs(monkeypatch):
    from lightning_utilities.core.rank_zero import rank_zero_only

    class Boom:
        def log_metrics(self, *a, **k):
            raise AssertionError("a non-zero rank must not log")

    monkeypatch.setattr(rank_zero_only, "rank", 1, raising=False)
    tracking.log_metrics([Boom()], {"x": 1.0})
    tracking.log_files([Boom()], {"x.png": Path(__file__)})
    assert tracking.finalize([Boom()]) is None


def test_env_context_restores(monkeypatch):
    monkeypatch.setenv("AVEMO_X", "before")
    monkeypatch.delenv("AVEMO_Y", raising=False)
    with tracking._env(AVEMO_X="inside", AVEMO_Y="new"):
        assert os.environ["AVEMO_X"] == "inside" and os.environ["AVEMO_Y"] == "new"
    assert os.environ["AVEMO_X"] == "before" and "AVEMO_Y" not in os.environ


# --- a real fit -----------------------------------------------------------------------------


def _toy_module():
    import pytorch_lightning as pl
    import torch

    class Toy(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(3, 2)

        def training_step(self, batch, _idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train/loss", loss, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, _idx):
            x, _y = batch
            self.log("val/ccc_mean", 0.25 + 0.5 * self.current_epoch + 0.0 * self.net(x).mean(),
                     on_step=False, on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, generator=g)
    data = torch.utils.data.TensorDataset(x, x[:, :2] * 0.5)
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    return Toy(), loader


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    """One fit shared by the assertions below; records any network attempt instead of making it."""
    import pytorch_lightning as pl
    import safetensors.torch

    from avemo.evaluate import plots

    tmp = tmp_path_factory.mktemp("tracking")
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network disabled in tests")
        return real_connect(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        attempts.append(host)
        raise socket.gaierror("network disabled in tests")

    with pytest.MonkeyPatch.context() as mp:
        for var in ("COMET_API_KEY", "COMET_START_ONLINE", "COMET_OFFLINE_DIRECTORY", "MLFLOW_TRACKING_URI",
                    "COMET_ERROR_TRACKING_ENABLE"):
            mp.delenv(var, raising=False)
        mp.setenv("HF_TOKEN", SENTINEL)
        mp.setattr(socket.socket, "connect", guarded_connect)
        mp.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
        mp.chdir(tmp)  # anything written relative to the cwd stays in tmp
        # comet_ml switches Sentry on at import when random.random() >= 0.5: force that branch
        mp.setattr(random, "random", lambda: 0.9)

        uri = f"sqlite:///{tmp}/mlflow.db"
        cfg = TrackingConfig(mlflow_uri=uri, experiment="avemo-test", artifact_dir=str(tmp / "mlartifacts"))
        run_dir = tmp / "run"
        logs = tracking.loggers(cfg, "toy", run_dir, PARAMS)
        env_after_setup = {k: os.environ.get(k) for k in ("COMET_START_ONLINE", "COMET_OFFLINE_DIRECTORY")}

        model, loader = _toy_module()
        trainer = pl.Trainer(
            max_epochs=2, log_every_n_steps=1, logger=logs, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", devices=1,
        )
        trainer.fit(model, loader, loader)

        png = plots.training_curves(pd.DataFrame({"epoch": [0, 1], "train/loss": [1.0, 0.5],
                                                  "val/ccc_mean": [0.25, 0.75]}), run_dir / "curves.png")
        weights = run_dir / "model.safetensors"
        safetensors.torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
        tracking.log_files(logs, {"plots/training_curves.png": png, "model.safetensors": weights})
        tracking.log_metrics(logs, {"test/ccc_mean": 0.5, "test/rmse_mean": 0.3})
        zip_path = tracking.finalize(logs)
        again = tracking.finalize(logs)  # idempotent
        import sentry_sdk

        sentry_active = sentry_sdk.get_client().is_active()

    return {
        "tmp": tmp, "uri": uri, "run_dir": run_dir, "logs": logs, "zip": zip_path, "again": again,
        "attempts": attempts, "env_after_setup": env_after_setup,
        "sentry_active": sentry_active,
    }


def test_mlflow_run_finished_with_history_params_artifacts(tracked_run):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracked_run["uri"])
    exp = client.get_experiment_by_name("avemo-test")
    assert exp is not None
    assert exp.artifact_location.startswith(f"file://{tracked_run['tmp']}/mlartifacts")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "toy"
    hist = client.get_metric_history(run.info.run_id, "val/ccc_mean")
    assert [round(m.value, 4) for m in sorted(hist, key=lambda m: m.step)] == [0.25, 0.75]
    assert len(client.get_metric_history(run.info.run_id, "train/loss")) == 2
    assert run.data.metrics["test/ccc_mean"] == pytest.approx(0.5)
    assert run.data.params["train.lr"] == "0.002"
    assert run.data.params["model.targets"] == "['valence', 'arousal']"
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model.safetensors", "plots"} <= top
    assert [a.path for a in client.list_artifacts(run.info.run_id, "plots")] == ["plots/training_curves.png"]
    stored = Path(run.info.artifact_uri.removeprefix("file://"))
    assert (stored / "model.safetensors").stat().st_size > 0
    assert stored.is_relative_to(tracked_run["tmp"] / "mlartifacts")


def test_comet_offline_archive_has_metrics_params_assets(tracked_run):
    zip_path = tracked_run["zip"]
    assert zip_path is not None and zip_path.is_file()
    assert zip_path.parent == (tracked_run["run_dir"] / "comet").resolve()
    assert tracked_run["again"] == zip_path
    metrics = comet_archive.metrics(zip_path)
    assert [round(v, 4) for v in metrics["val/ccc_mean"]] == [0.25, 0.75]
    assert len(metrics["train/loss"]) == 2
    assert metrics["test/ccc_mean"] == [0.5]
    params = comet_archive.params(zip_path)
    assert params["train.lr"] == 0.002 and params["seed"] == 7
    assets = comet_archive.assets(zip_path)
    assert set(assets) == {"training_curves.png", "model.safetensors"}
    weights = (tracked_run["run_dir"] / "model.safetensors").read_bytes()
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.read(assets["model.safetensors"]) == weights
        assert zf.read(assets["training_curves.png"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_network_no_env_leak_no_secrets(tracked_run):
    assert tracked_run["attempts"] == []
    assert not tracked_run["sentry_active"]
    assert "COMET_ERROR_TRACKING_ENABLE" not in os.environ
    assert tracked_run["env_after_setup"] == {"COMET_START_ONLINE": None, "COMET_OFFLINE_DIRECTORY": None}
    assert not (tracked_run["tmp"] / ".cometml-runs").exists()
    assert not (tracked_run["tmp"] / "mlruns").exists()
    needles = (b"COMET_API_KEY", SENTINEL.encode())
    for path in tracked_run["tmp"].rglob("*"):
        if not path.is_file():
            continue
        blobs = [path.read_bytes()]
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                blobs += [zf.read(n) for n in zf.namelist()]
        for blob in blobs:
            for needle in needles:
                assert needle not in blob, f"{needle!r} found in {path}"


def test_creating_a_run_leaves_the_environment_alone(monkeypatch, tmp_path):
    """Lightning's MLFlowLogger calls mlflow.set_tracking_uri, which exports MLFLOW_TRACKING_URI;
    a second run in the same process with other params must still use its own store."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("COMET_START_ONLINE", "0")
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    for name in ("a", "b"):
        cfg = TrackingConfig(mlflow_uri=f"sqlite:///{tmp_path}/{name}.db", artifact_dir=str(tmp_path / name))
        logs = tracking.loggers(cfg, name, tmp_path / name, {"x": 1})
        tracking.finalize(logs)
        assert "MLFLOW_TRACKING_URI" not in os.environ
    assert (tmp_path / "a.db").is_file() and (tmp_path / "b.db").is_file()
