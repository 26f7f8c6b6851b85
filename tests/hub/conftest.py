"""A small fused model with known scores, its release folder, and a Hugging Face cache
built by hand in the Hub's layout. No test here reaches a network: the Hub endpoint points
at a closed local port, and offline mode, token and cache come from the environment each test
sets."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from avemo.hub import release

MODES = ("audio_visual", "audio_only", "video_only", "noisy_audio", "noisy_video")
SCORES = {"val": {"ccc_valence": 0.6111, "ccc_arousal": 0.7222, "ccc_mean": 0.6667},
          "test": {"ccc_valence": 0.5111, "ccc_arousal": 0.8333, "ccc_mean": 0.6722}}
NO_HUB = "http://127.0.0.1:9"  # the discard port: connections are refused at once
REPO = "org/name"


def mode_scores(k: int) -> dict:
    return {"ccc_valence": 0.1 + k / 10, "ccc_arousal": 0.15 + k / 10, "ccc_mean": 0.125 + k / 10}


@pytest.fixture(scope="session")
def model_dir(save_fused) -> Path:
    return save_fused(scores=SCORES, modes={m: mode_scores(k) for k, m in enumerate(MODES)})


@pytest.fixture(scope="session")
def release_dir(model_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "org-name"
    release.write_folder(model_dir, out, REPO, license="mit")
    return out


@pytest.fixture
def make_config(fused_config) -> Callable[[str], dict]:
    return fused_config


@pytest.fixture(autouse=True)
def no_hub(monkeypatch) -> str:
    """No token, not offline, the Hub at a closed port (returned), unless a test says otherwise."""
    from huggingface_hub import constants

    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", NO_HUB)
    return NO_HUB


@pytest.fixture
def no_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("torch.load was called: a pickle was about to be loaded")

    monkeypatch.setattr(torch, "load", refuse)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Callable[..., str]:
    """``add(repo_id, revision, files, commit)``: put ``files`` ({name: source path}) into a
    fresh Hub cache (HF_HOME=tmp) as snapshot ``commit`` with ref ``revision``, as
    ``hf_hub_download`` leaves them: blobs/<sha256>, snapshots/<commit>/<name> -> blob,
    refs/<revision> holding the commit hash."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))

    def add(repo_id: str, revision: str, files: dict[str, Path], commit: str = "0123456789abcdef" * 2 + "01234567") -> str:
        repo = tmp_path / "hf" / "hub" / f"models--{repo_id.replace('/', '--')}"
        snapshot = repo / "snapshots" / commit
        snapshot.mkdir(parents=True)
        (repo / "blobs").mkdir(exist_ok=True)
        for name, src in files.items():
            blob = repo / "blobs" / hashlib.sha256(Path(src).read_bytes()).hexdigest()
            shutil.copyfile(src, blob)
            (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / revision).write_text(commit)  # no newline: the library reads it verbatim
        return commit

    return add
