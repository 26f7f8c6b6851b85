"""Params for training tests on the synthetic feature store (tests/conftest.py)."""

from __future__ import annotations

import pytest
import yaml

from avemo import config


@pytest.fixture
def train_params(raw_params, feature_store, tmp_path) -> config.Params:
    p = yaml.safe_load(yaml.safe_dump(raw_params))
    p["features"]["out_dir"] = feature_store
    p["features"]["audio"]["normalise"] = "global"  # the store plants arousal as a level: keep it
    p["train"].update(max_epochs=4, batch_size=16, patience=10, lr=0.005)
    p["model"]["audio"].update(dim=16)
    p["model"]["visual"].update(dim=16)
    p["teacher"]["out_dir"] = str(tmp_path / "teacher")
    p["tracking"].update(mlflow_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_dir=str(tmp_path / "mlruns"))
    return config.parse(p)
