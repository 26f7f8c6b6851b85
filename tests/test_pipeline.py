"""End to end: `dvc repro` of the real dvc.yaml in a scratch copy of the project (tiny corpus)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _sh(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout + res.stderr


@pytest.mark.slow
def test_dvc_repro_runs_then_is_a_noop(tmp_path):
    files = _sh(["git", "ls-files"], ROOT).split()
    for f in files:
        if not f.startswith(("reports/", "dvc.lock")):
            (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, tmp_path / f)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["synthesize"]["size"] = "tiny"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _sh(["git", "init", "-q"], tmp_path)

    out = _sh(["dvc", "repro"], tmp_path)
    for stage in ("synthesize@embedded", "ingest", "validate"):
        assert f"Running stage '{stage}'" in out
    assert (tmp_path / "data/validated/iemocap.parquet").is_file()
    assert (tmp_path / "reports/corpus.json").is_file()

    again = _sh(["dvc", "repro"], tmp_path)
    assert "Running stage" not in again and "up to date" in again


def _project(tmp_path: Path) -> Path:
    """A scratch copy of the project: every file git would commit, without reports and lock."""
    files = _sh(["git", "ls-files", "--cached", "--others", "--exclude-standard"], ROOT).split()
    project = tmp_path / "project"
    for f in files:
        if not f.startswith(("reports/", "dvc.lock")) and (ROOT / f).is_file():
            (project / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, project / f)
    _sh(["git", "init", "-q"], project)
    return project


def _quick(params: dict) -> dict:
    """The graph's settings cut to one or two epochs of small models."""
    params["model"]["audio"]["dim"] = params["model"]["visual"]["dim"] = 16
    params["train"].update(max_epochs=2, batch_size=8, patience=2)
    for stream in ("audio", "visual"):
        params["pretrain"][stream].update(epochs=1, batch_size=8)
    params["pseudo"]["passes"] = 2
    params["fuse"]["late"]["steps"] = 20
    params["fuse"]["attention"].update(dim=16, heads=2, max_epochs=2, batch_size=8)
    return params


def test_release_layout_corpora_run_the_whole_graph_without_truth_or_generator(tmp_path, release_roots):
    """The user's path: corpora as released (no _truth/), params pointing at them,
    `synthesize.generate: []`, then `dvc repro` from ingest to a packaged champion."""
    import json

    roots = release_roots
    project = _project(tmp_path)
    params = _quick(yaml.safe_load((project / "params.yaml").read_text()))
    params["synthesize"]["generate"] = []
    params["ingest"].update({c: str(r) for c, r in roots.items()})
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    out = _sh(["dvc", "repro"], project)
    assert not [p for r in roots.values() for p in r.rglob("_truth")] and not (project / "data/raw").exists()
    assert "synthesize" not in out and "synthesize" not in (project / "dvc.lock").read_text()
    for stage in ("ingest", "validate", "features", "pretrain_audio", "pretrain_visual", "teacher",
                  "pseudo_label", "student", "fuse", "evaluate", "register", "package"):
        assert f"Running stage '{stage}'" in out

    def report(name: str) -> dict:
        return json.loads((project / "reports" / name).read_text())

    validation = report("validation.json")
    assert validation["success"] and validation["per_corpus"]["iemocap"]["rows"] == 20
    assert validation["per_corpus"]["tedlium"]["rows"] == 15 and validation["per_corpus"]["facesynthetics"]["rows"] == 40
    metrics = report("metrics.json")
    assert metrics["oracle"] is None and "no hidden truth" in metrics["truth"]["reason"]
    for name in ("audio", "visual", "student_audio", "student_visual", "late_fusion", "attention_fusion"):
        assert -1 <= metrics["models"][name]["test"]["ccc_mean"] <= 1
    pseudo = report("pseudo.json")
    for stream in ("audio", "visual"):
        assert pseudo[stream]["selected"] > 0 and pseudo[stream]["selected_vs_truth"] is None
        assert pseudo[stream]["truth"]["available"] is False
    assert report("registry.json")["promotion"]["moved"]
    assert report("package.json")["bento"]
    assert "Models on the test split" in _sh(["avemo", "summary"], project)
    released = _sh(["avemo", "release", "--repo-id", "someone/avemo-test", "--dry-run"], project)
    assert "model.safetensors" in released and "nothing pushed" in released
