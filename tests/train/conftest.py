"""A small synthetic feature store whose targets are learnable from the features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from avemo import config
from avemo.features import store


def _split(rng: np.random.Generator, n: int, split: str) -> tuple[pd.DataFrame, dict]:
    v, a = rng.uniform(-0.9, 0.9, n), rng.uniform(-0.9, 0.9, n)
    audio, video = [], []
    for i in range(n):
        t = int(rng.integers(40, 90))
        mel = rng.normal(0, 1, (t, 16)).astype(np.float32)
        mel[:, :4] += 2.0 * a[i]  # arousal raises the low bands
        audio.append(mel)
        f = int(rng.integers(4, 9))
        frames = rng.integers(60, 120, (f, 24, 24)).astype(np.float32)
        frames[:, 12:, :] += 60 * v[i]  # valence brightens the lower half
        video.append(np.clip(frames, 0, 255).astype(np.uint8))
    index = pd.DataFrame({
        "clip_id": [f"{split}{i:03d}" for i in range(n)], "speaker": [f"s{i % 4}" for i in range(n)],
        "split": split, "valence": v, "arousal": a, "dominance": 0.0, "label_source": "gold",
        "label_weight": 1.0,
    })
    a_data, a_off = store.pack(audio, torch.float16)
    v_data, v_off = store.pack(video, torch.uint8)
    return index, {"audio": a_data, "audio_offsets": a_off, "video": v_data, "video_offsets": v_off}


@pytest.fixture(scope="session")
def feature_store(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("val", 24), ("test", 24)):
        index, tensors = _split(rng, n, split)
        store.write(out, "iemocap", split, index, tensors)
        if split == "train":
            mel = tensors["audio"].float()
            store.write_stats(out, mel.mean(0), mel.std(0))
    return str(out)


@pytest.fixture
def train_params(raw_params, feature_store, tmp_path) -> config.Params:
    p = yaml.safe_load(yaml.safe_dump(raw_params))
    p["features"]["out_dir"] = feature_store
    p["train"].update(max_epochs=4, batch_size=16, patience=10, lr=0.005)
    p["model"]["audio"].update(dim=16)
    p["model"]["visual"].update(dim=16)
    p["teacher"]["out_dir"] = str(tmp_path / "teacher")
    p["tracking"].update(mlflow_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_dir=str(tmp_path / "mlruns"))
    return config.parse(p)
