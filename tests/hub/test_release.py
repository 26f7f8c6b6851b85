"""Manifest, push and pull: a local round trip, an offline Hub cache, pickles refused, and
every failure without a network fast and explicit. Plus the two CLI commands."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from avemo.cli import app
from avemo.hub import release
from avemo.models import fused
from avemo.models.batch import pad

ROOT = Path(__file__).resolve().parents[2]
REPO = "org/name"
SECRET = "hf_not_a_real_token_1234567890"
runner = CliRunner()


def outputs(model: fused.FusedModel) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    audio = [torch.randn(n, 64, generator=g) for n in (120, 90)]
    visual = [torch.rand(n, 48, 48, generator=g) for n in (6, 4)]
    with torch.no_grad():
        return model.eval()(audio=pad(audio), visual=pad(visual))


def assert_same_model(model: fused.FusedModel, model_dir: Path) -> None:
    want, got = outputs(fused.load(model_dir)[0]), outputs(model)
    for key in ("clip", "audio", "visual"):
        assert torch.equal(want[key], got[key]), key


def test_manifest_sha256(release_dir):
    rows = release.manifest(release_dir)
    assert [r["path"] for r in rows] == ["README.md", "config.json", "model.safetensors"]
    for r in rows:
        data = (release_dir / r["path"]).read_bytes()
        assert r["sha256"] == hashlib.sha256(data).hexdigest() and r["bytes"] == len(data)


def test_round_trip_through_a_local_folder(model_dir, release_dir):
    pipeline = release.pull(release_dir)
    assert isinstance(pipeline.model, release.AvemoModel)
    assert pipeline.targets == ["valence", "arousal"]
    assert_same_model(pipeline.model, model_dir)


def test_a_pickle_is_refused_never_loaded(model_dir, tmp_path, no_unpickling):
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / fused.CONFIG).write_bytes((model_dir / fused.CONFIG).read_bytes())
    (folder / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(release.ReleaseError, match="safetensors weights only"):
        release.pull(folder)


def test_pull_from_the_offline_cache(model_dir, release_dir, hub_cache, monkeypatch):
    files = {name: release_dir / name for name in release.FILES}
    commit = hub_cache(REPO, "v1", files)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert_same_model(release.pull(REPO, "v1").model, model_dir)
    assert_same_model(release.pull(REPO, commit).model, model_dir)


def test_unreachable_hub_falls_back_to_the_cache(model_dir, release_dir, hub_cache):
    hub_cache(REPO, "v1", {name: release_dir / name for name in release.FILES})
    assert_same_model(release.pull(REPO, "v1").model, model_dir)  # no HF_HUB_OFFLINE; no Hub at the endpoint


@pytest.mark.parametrize("offline", [True, False])
def test_uncached_revision_fails_fast(release_dir, hub_cache, monkeypatch, offline):
    hub_cache(REPO, "v1", {name: release_dir / name for name in release.FILES})
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(release.ReleaseError, match="v2 is not in the local Hub cache") as err:
        release.pull(REPO, "v2")
    assert time.monotonic() - start < 3
    assert "HF_HUB_CACHE" in str(err.value) and ("HF_HUB_OFFLINE" in str(err.value)) == offline


def test_a_cached_pickle_is_refused(model_dir, hub_cache, monkeypatch, tmp_path, no_unpickling):
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    hub_cache("org/pickled", "v1", {fused.CONFIG: model_dir / fused.CONFIG,
                                   "pytorch_model.bin": tmp_path / "pytorch_model.bin"})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(release.ReleaseError):
        release.pull("org/pickled", "v1")


def test_pull_needs_a_pinned_revision_and_a_valid_source(release_dir):
    with pytest.raises(release.ReleaseError, match="--revision"):
        release.pull(REPO)
    with pytest.raises(release.ReleaseError, match="local folder"):
        release.pull(release_dir, "v1")
    with pytest.raises(release.RepoIdError):
        release.pull("no/such/folder")


@pytest.fixture
def no_api_calls(monkeypatch):
    from huggingface_hub import HfApi

    def called(*args, **kwargs):
        raise AssertionError("the Hub API was called")

    for name in ("create_repo", "create_branch", "upload_folder"):
        monkeypatch.setattr(HfApi, name, called)


@pytest.mark.parametrize(("env", "message"), [
    ({}, "export HF_TOKEN="),
    ({"HF_TOKEN": SECRET, "HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set"),
    ({"HF_TOKEN": SECRET}, "cannot reach the Hub at http://127.0.0.1:9"),
])
def test_push_fails_fast_without_a_hub(release_dir, monkeypatch, no_api_calls, no_hub, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    start = time.monotonic()
    with pytest.raises(release.ReleaseError, match=message) as err:
        release.push(release_dir, REPO, "v1")
    assert time.monotonic() - start < 3
    assert SECRET not in str(err.value)


class FakeApi:
    calls: ClassVar[list] = []
    fail: ClassVar[Exception | None] = None

    def __init__(self, endpoint: str, token: str):
        FakeApi.calls.append(("init", endpoint, token))

    def create_repo(self, repo_id, **kw):
        FakeApi.calls.append(("create_repo", repo_id, kw))

    def create_branch(self, repo_id, **kw):
        FakeApi.calls.append(("create_branch", repo_id, kw))

    def upload_folder(self, **kw):
        if FakeApi.fail:
            raise FakeApi.fail
        FakeApi.calls.append(("upload_folder", kw))
        return type("Info", (), {"commit_url": f"https://hub/{kw['repo_id']}/commit/abc"})()


@pytest.fixture
def fake_hub(monkeypatch):
    import huggingface_hub

    FakeApi.calls, FakeApi.fail = [], None
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(release, "reachable", lambda url, timeout=2.0: True)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    return FakeApi


def test_push_creates_repo_and_branch_then_uploads(release_dir, fake_hub):
    assert release.push(release_dir, REPO, "v1") == f"https://hub/{REPO}/commit/abc"
    assert [c[0] for c in fake_hub.calls] == ["init", "create_repo", "create_branch", "upload_folder"]
    assert fake_hub.calls[0][2] == SECRET
    assert fake_hub.calls[1][2] == {"private": True, "exist_ok": True}
    assert fake_hub.calls[2][2] == {"branch": "v1", "exist_ok": True}
    assert fake_hub.calls[3][1]["revision"] == "v1" and fake_hub.calls[3][1]["folder_path"] == str(release_dir)


def test_push_turns_http_client_errors_into_release_errors(release_dir, fake_hub):
    import httpx2

    fake_hub.fail = httpx2.ConnectError("connection reset")  # not an OSError
    with pytest.raises(release.ReleaseError, match="connection reset"):
        release.push(release_dir, REPO)


# ---------------------------------------------------------------------- CLI


def cli(*args: str):
    return runner.invoke(app, [*args, "--params", str(ROOT / "params.yaml")])


def test_cli_release_dry_run_lists_files(model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(release, "push", lambda *a, **k: pytest.fail("a dry run pushed"))
    result = cli("release", "--repo-id", REPO, "--dry-run", "--model", str(model_dir), "--out", str(tmp_path / "rel"))
    assert result.exit_code == 0, result.output
    digest = hashlib.sha256((model_dir / fused.WEIGHTS).read_bytes()).hexdigest()
    rows = [r.split() for r in result.output.splitlines() if r.endswith("model.safetensors")]
    assert rows and rows[0][0] == digest
    assert (tmp_path / "rel" / "README.md").is_file()


@pytest.mark.parametrize("repo_id", ["name-only", "org/name/extra", "org/na me", "org--x/name"])
def test_cli_release_bad_repo_id_exits_2(model_dir, tmp_path, repo_id):
    result = cli("release", "--repo-id", repo_id, "--dry-run", "--model", str(model_dir), "--out", str(tmp_path / "rel"))
    assert result.exit_code == 2 and "ORG/NAME" in result.output
    assert not (tmp_path / "rel").exists()


def test_cli_release_without_token_exits_1(model_dir, tmp_path):
    result = cli("release", "--repo-id", REPO, "--model", str(model_dir), "--out", str(tmp_path / "rel"))
    assert result.exit_code == 1 and "HF_TOKEN" in result.output


def test_cli_pull_prints_metadata_and_predicts(release_dir, tmp_path):
    wav = tmp_path / "voice.wav"
    sf.write(wav, (0.1 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32), 16000)
    result = cli("pull", str(release_dir), "--predict", str(wav))
    assert result.exit_code == 0, result.output
    assert "late fusion" in result.output and "ccc_mean=0.672" in result.output
    assert "1 windows over 2.0 s (audio)" in result.output


def test_cli_pull_errors(release_dir):
    assert cli("pull", "no/such/folder").exit_code == 2
    result = cli("pull", REPO)
    assert result.exit_code == 1 and "--revision" in result.output
