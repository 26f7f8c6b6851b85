"""How big and how slow is the core install, against the full one, and does `avemo predict` run in it?

    uv run python benchmarks/install_profiles.py [--model models/fusion/late] [--report reports/install.json]

For each profile (``core``: no extras; ``all``: every extra, what ``make run`` installs) it makes
a fresh virtual environment and installs the locked versions (``uv export --frozen``) with an
empty uv cache, so every wheel is downloaded from the package index as on a new machine. It
reports the install's wall time, its size on disk and its package count. In the core
environment it then runs ``avemo predict`` on a speech recording and on a video (the CMU
ARCTIC clip and the Grace Hopper portrait the tests use) with a fused model (default: the
pipeline's late fusion; run ``make run`` first) and checks that an extras-only command
(``avemo teacher``) exits naming its extra.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from avemo.io import write_json

ROOT = Path(__file__).resolve().parents[1]
PROFILES = {"core": [], "all": ["--extra", "all"]}


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return done


def _size(path: Path) -> int:
    return int(_run(["du", "-sb", str(path)]).stdout.split()[0])


def install(profile: str, work: Path) -> dict:
    """A fresh environment of ``profile`` under ``work``, timed with a cold uv cache."""
    uv = [shutil.which("uv") or "uv"]
    reqs = work / f"{profile}.txt"
    _run([*uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", *PROFILES[profile],
          "-o", str(reqs)], cwd=ROOT)
    venv, cache = work / f"{profile}-venv", work / f"{profile}-cache"
    env = {**os.environ, "UV_CACHE_DIR": str(cache), "VIRTUAL_ENV": str(venv)}
    _run([*uv, "venv", "--python", "3.11", str(venv)], env=env)
    start = time.perf_counter()
    _run([*uv, "pip", "install", "--no-deps", "-r", str(reqs)], env=env)
    _run([*uv, "pip", "install", "--no-deps", str(ROOT)], env=env)
    seconds = time.perf_counter() - start
    packages = _run([*uv, "pip", "list", "--format", "json"], env=env).stdout
    return {"install_s": round(seconds, 1), "size_mb": round(_size(venv) / 1e6),
            "packages": len(json.loads(packages)), "download_mb": round(_size(cache) / 1e6), "venv": str(venv)}


def predict_in(venv: Path, model: Path, work: Path) -> dict:
    """``avemo predict`` on real speech and on a real-portrait video inside ``venv``."""
    sys.path.insert(0, str(ROOT / "tests" / "support"))
    import real_media

    avemo = str(venv / "bin" / "avemo")
    out: dict = {}
    for name, path in (("speech", real_media.speech_path()), ("video", real_media.clip(work / "hopper.mp4"))):
        run = subprocess.run([avemo, "predict", str(path), "--model", str(model), "--out", str(work / "pred"),
                              "--format", "json", "--params", str(ROOT / "params.yaml")],
                             capture_output=True, text=True, cwd=work)
        summary = json.loads((work / "pred" / f"{path.name}.json").read_text())["summary"] if run.returncode == 0 else None
        out[name] = {"exit": run.returncode, "summary": summary, "stderr_tail": run.stderr[-400:]}
    run = subprocess.run([avemo, "teacher", "--params", str(ROOT / "params.yaml")], capture_output=True, text=True,
                         cwd=work)
    out["teacher_in_core"] = {"exit": run.returncode, "message": " ".join(run.stderr.split())[-300:]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "fusion" / "late")
    ap.add_argument("--report", type=Path, default=ROOT / "reports" / "install.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="avemo-install-") as tmp:
        work = Path(tmp)
        report: dict = {"profiles": {p: install(p, work) for p in PROFILES}}
        report["core_predict"] = predict_in(Path(report["profiles"]["core"].pop("venv")), args.model.resolve(), work)
        report["profiles"]["all"].pop("venv")
    core, full = report["profiles"]["core"], report["profiles"]["all"]
    report["core_vs_all"] = {"size": round(core["size_mb"] / full["size_mb"], 3),
                             "time": round(core["install_s"] / full["install_s"], 3)}
    write_json(args.report, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
