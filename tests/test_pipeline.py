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
    for stage in ("synthesize", "ingest", "validate"):
        assert f"Running stage '{stage}'" in out
    assert (tmp_path / "data/validated/iemocap.parquet").is_file()
    assert (tmp_path / "reports/corpus.json").is_file()

    again = _sh(["dvc", "repro"], tmp_path)
    assert "Running stage" not in again and "up to date" in again
