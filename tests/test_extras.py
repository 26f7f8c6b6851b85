"""Install profiles: the core install (no extras) runs ``avemo predict`` and ``avemo pull``; a
command that needs an extra says which. A core install is simulated by running the CLI in a
subprocess where every module that only the extras bring (read from ``uv.lock``) fails to import."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import real_media

from avemo.extras import _normal, extras, providing

ROOT = Path(__file__).resolve().parents[1]
BLOCKER = """
import sys
from importlib.metadata import PackageNotFoundError
import avemo.extras
BLOCKED = set(sys.argv[1].split(","))
DISTS = set(sys.argv[2].split(","))
real = avemo.extras.distribution
def distribution(name):
    if avemo.extras._normal(name) in DISTS:
        raise PackageNotFoundError(name)
    return real(name)
avemo.extras.distribution = distribution
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not in the core install)", name=name)
sys.meta_path.insert(0, Blocker())
sys.argv = ["avemo", *sys.argv[3:]]
from avemo.cli import main
try:
    main()
finally:
    leaked = sorted({m.split(".")[0] for m in sys.modules} & BLOCKED)
    assert not leaked, leaked
"""


def _closure(packages: dict[str, dict], roots: list[dict]) -> set[str]:
    """Distributions reached from ``roots`` (lock entries ``{name, extra?}``) through the lock's
    dependencies, markers ignored (so the core set is, if anything, too large)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        dep = todo.pop()
        pkg = packages[dep["name"]]
        extras = dep.get("extra", [])
        if dep["name"] in seen and not extras:
            continue
        seen.add(dep["name"])
        todo += pkg.get("dependencies", [])
        for extra in extras:
            todo += pkg.get("optional-dependencies", {}).get(extra, [])
    return seen


def extras_only() -> tuple[set[str], set[str]]:
    """``(modules, distributions)`` that only the extras install (per ``uv.lock``): top-level
    module names and normalised distribution names."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    avemo = packages["avemo"]
    core = _closure(packages, avemo["dependencies"])
    full = _closure(packages, [d for ds in avemo["optional-dependencies"].values() for d in ds
                               if d["name"] != "avemo"])
    extra_dists = {_normal(d) for d in full - core}
    modules = {module for module, dists in packages_distributions().items()
               if not module.startswith("_") and all(_normal(d) in extra_dists for d in dists)}
    return modules, extra_dists


@pytest.fixture(scope="module")
def blocked() -> list[str]:
    modules, dists = extras_only()
    assert {"mlflow", "bentoml", "dvc", "great_expectations", "prefect", "pytorch_lightning"} <= modules
    assert not modules & {"torch", "numpy", "huggingface_hub", "av", "cv2", "matplotlib"}
    return [",".join(sorted(modules)), ",".join(sorted(dists))]


def core(blocked: list[str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", BLOCKER, *blocked, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_predict_and_pull_run_in_the_core_install(blocked, save_fused, tmp_path):
    from avemo.hub import release

    model = save_fused()
    video = real_media.clip(tmp_path / "hopper.mp4", seconds=4.0)
    run = core(blocked, "predict", str(video), "--model", str(model), "--out", str(tmp_path / "out"),
               "--format", "json")
    assert run.returncode == 0, run.stderr
    rows = json.loads((tmp_path / "out" / "hopper.mp4.json").read_text())
    assert rows["summary"]["streams"] == ["audio+visual"] and "valence" in rows["series"][0]
    folder = tmp_path / "org-name"
    release.write_folder(model, folder, "org/name", license="mit")
    run = core(blocked, "pull", str(folder), "--predict", str(real_media.speech_path()))
    assert run.returncode == 0, run.stderr
    assert "late fusion" in run.stderr + run.stdout


@pytest.mark.parametrize(("command", "extra"), [("teacher", "pipeline"), ("register", "pipeline,track"),
                                                ("package", "track,serve"), ("bench", "pipeline,bench")])
def test_a_command_that_needs_an_extra_names_it(blocked, command, extra, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text())
    run = core(blocked, command, "--params", str(params), cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert f"pip install 'avemo[{extra}]'" in " ".join(run.stderr.split())
    assert "Traceback" not in run.stderr


def test_a_module_an_extra_brings_missing_at_run_time_names_the_extra(blocked, tmp_path):
    """The safety net under the up-front check: an install that has the extras' metadata but
    not their modules (here: blocked imports) still gets the extra named, not a traceback."""
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text())
    run = core([blocked[0], ""], "teacher", "--params", str(params), cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "install the 'pipeline' extra: pip install 'avemo[pipeline]'" in " ".join(run.stderr.split())
    assert "Traceback" not in run.stderr


def test_every_third_party_import_is_core_or_an_extra():
    """A library the code imports is a core dependency or comes with a named extra."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    core_dists = {_normal(d) for d in _closure(packages, packages["avemo"]["dependencies"])}
    dists = packages_distributions()
    unexplained = set()
    for path in (ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                     else [])
            for name in names:
                top = name.split(".")[0]
                if top == "avemo" or top in sys.stdlib_module_names:
                    continue
                if not any(_normal(d) in core_dists for d in dists.get(top, [])) and providing(top) is None:
                    unexplained.add(f"{path.relative_to(ROOT)}: {top}")
    assert not unexplained, sorted(unexplained)


def test_providing_names_the_extra_of_a_module():
    assert providing("mlflow.client") == "track"
    assert providing("sklearn.linear_model") == "bench"
    assert providing("pytorch_lightning") == "pipeline"
    assert providing("torch") is None and providing("no_such_module") is None


def test_every_command_is_core_or_names_the_extras_it_needs():
    from avemo import cli

    commands = {c.name or c.callback.__name__.replace("_", "-") for c in cli.app.registered_commands}
    assert set(cli.NEEDS) <= commands
    assert commands - set(cli.NEEDS) == {"predict", "pull", "release", "summary"}
    assert {e for needs in cli.NEEDS.values() for e in needs} <= set(extras())
