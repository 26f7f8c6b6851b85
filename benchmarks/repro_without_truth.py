"""Does the whole graph run on corpora without a hidden truth, as a user's real corpora are?

    uv run python benchmarks/repro_without_truth.py [--work DIR] [--report reports/repro_without_truth.json]

Copies the embedded corpora that `make run` generated (``data/raw``) with every ``_truth/``
folder left out, and the project's committed files into a scratch project. It sets
``synthesize.generate: []`` and points the ``ingest`` paths at the copies, as a user does for
IEMOCAP, TED-LIUM 3 and FaceSynthetics. Then it runs ``dvc repro`` there, from ingest to a
packaged champion, and reports the wall time, the stages that ran, the test scores of every
model against the gold labels, and what the truth-reading reports say.

Run ``make run`` (or ``uv run dvc repro``) first so that ``data/raw`` exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from avemo.io import write_json

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ("iemocap", "tedlium", "facesynthetics")


def _project(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if not f.startswith(("reports/", "dvc.lock")) and (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)


def run(work: Path) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    corpora, project = work / "corpora", work / "project"
    for c in CORPORA:
        src = ROOT / raw["ingest"][c]
        if not src.is_dir():
            sys.exit(f"{src}: not found; run `make run` (or `uv run dvc repro`) first")
        shutil.copytree(src, corpora / c, ignore=shutil.ignore_patterns("_truth"))
    _project(project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["synthesize"]["generate"] = []
    params["ingest"].update({c: str(corpora / c) for c in CORPORA})
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    t0 = time.perf_counter()
    res = subprocess.run(["dvc", "repro"], cwd=project, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode:
        sys.exit(f"dvc repro failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")

    def report(name: str) -> dict:
        return json.loads((project / "reports" / name).read_text())

    metrics, pseudo = report("metrics.json"), report("pseudo.json")
    return {
        "repro_s": round(seconds, 1),
        "stages": re.findall(r"Running stage '([^']+)'", res.stdout),
        "truth_folders": len(list(corpora.rglob("_truth"))),
        "synthesize_in_lock": "synthesize" in (project / "dvc.lock").read_text(),
        "test": {name: {k: round(v, 3) for k, v in m["test"].items() if k.startswith("ccc")}
                 for name, m in metrics["models"].items()},
        "oracle": metrics["oracle"], "truth": metrics["truth"],
        "pseudo": {s: {k: pseudo[s][k] for k in ("items", "selected", "selected_vs_truth")} for s in ("audio", "visual")},
        "promotion": report("registry.json")["promotion"],
        "bento": report("package.json").get("bento"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, help="scratch folder to keep (default: a temporary one)")
    ap.add_argument("--report", default=str(ROOT / "reports/repro_without_truth.json"))
    args = ap.parse_args()
    if args.work:
        args.work.mkdir(parents=True, exist_ok=False)
        out = run(args.work)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = run(Path(tmp))
    write_json(args.report, out)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
