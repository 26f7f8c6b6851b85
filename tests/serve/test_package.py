"""The package stage: the registry's champion goes into the BentoML store with its version,
metrics and the service limits, and a bento is built; without a champion it says what to run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _avemo(params: Path, *args: str, cwd: Path):
    env = {k: v for k, v in os.environ.items() if k != "BENTOML_HOME"}
    return subprocess.run([sys.executable, "-m", "avemo.cli", *args, "--params", str(params)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_package_imports_the_champion_and_builds_a_bento(model_dir, tmp_path):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    fusion = tmp_path / "fusion"
    (fusion / "late").mkdir(parents=True)
    for f in ("model.safetensors", "config.json"):
        (fusion / "late" / f).write_bytes((model_dir / f).read_bytes())
    raw["fuse"].update(out_dir=str(fusion), methods=["late"])
    raw["teacher"]["out_dir"], raw["student"]["out_dir"] = str(tmp_path / "t"), str(tmp_path / "s")
    raw["tracking"].update(mlflow_uri=f"sqlite:///{tmp_path}/m.db", artifact_dir=str(tmp_path / "mlruns"))
    raw["serve"].update(bentoml_home=str(tmp_path / "bentoml"), report=str(tmp_path / "package.json"),
                        bentofile=str(ROOT / "bentos/bentofile.yaml"))
    raw["registry"]["report"] = str(tmp_path / "registry.json")
    raw["validate"]["report"] = str(tmp_path / "validation.json")
    (tmp_path / "validation.json").write_text(json.dumps({"success": True}))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))

    res = _avemo(params, "package", cwd=ROOT)
    assert res.returncode == 1 and "avemo register" in res.stdout + res.stderr  # no champion yet

    res = _avemo(params, "register", cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    res = _avemo(params, "package", cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads((tmp_path / "package.json").read_text())
    assert report["registry"]["version"] == "1" and report["bento"].startswith("avemo:")
    models = list((tmp_path / "bentoml" / "models" / "avemo-fusion").glob("*/model.yaml"))
    meta = yaml.safe_load(models[0].read_text())["metadata"]
    assert meta["limits"]["max_upload_mb"] == raw["serve"]["max_upload_mb"] and meta["scores"]["val"]["ccc_mean"] == 0.5
    assert list((tmp_path / "bentoml" / "bentos" / "avemo").glob("*/src/avemo/serve/service.py"))
