"""The ``register`` stage: every fused and per-stream model logged to MLflow (metrics, params,
weights, and the DVC hashes of the data and pseudo-labels it was trained on) and registered
as a new version: ``registry.fused_name`` for fused models, ``<stream_prefix><stream>`` for
the teachers and students. Versions carry their lineage as tags, so the promotion gate and
a reader of the registry see where a model came from."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from avemo import tracking
from avemo.config import Params

LINEAGE_OUTS = {"features": "features", "pseudo": "pseudo_label", "validated": "validate"}


def models(p: Params) -> dict[str, tuple[str, Path]]:
    """Report name -> (registered model name, run folder) for every trained model present."""
    r = p.registry
    out = {f"{m}_fusion": (r.fused_name, Path(p.fuse.out_dir) / m) for m in p.fuse.methods}
    for role, base in (("teacher", p.teacher.out_dir), ("student", p.student.out_dir)):
        for s in ("audio", "visual"):
            out[f"{role}_{s}"] = (f"{r.stream_prefix}{s}", Path(base) / s)
    return {k: v for k, v in out.items() if (v[1] / "model.safetensors").is_file()}


def lineage(p: Params, lock: str | Path = "dvc.lock") -> dict[str, str]:
    """DVC hashes (``dvc.lock``) of the data a model depends on, and the validation verdict."""
    out: dict[str, str] = {}
    lock = Path(lock)
    stages = yaml.safe_load(lock.read_text()).get("stages", {}) if lock.is_file() else {}
    for key, stage in LINEAGE_OUTS.items():
        for o in stages.get(stage, {}).get("outs", []):
            if o.get("md5") and not str(o["path"]).startswith("reports"):
                out[f"dvc.{key}.md5"] = o["md5"]
    val = Path(p.validate_.report)
    out["validation_success"] = str(json.loads(val.read_text())["success"]).lower() if val.is_file() else "unknown"
    return out


def _pseudo_versions(p: Params) -> dict[str, str]:
    """The teacher version of each stream's pseudo-labels (what the students learnt from)."""
    import pandas as pd

    from avemo.pseudo import stage as pseudo_stage

    out = {}
    for s in ("audio", "visual"):
        path = pseudo_stage.path(p, s)
        if path.is_file():
            out[f"pseudo.{s}.teacher_version"] = str(pd.read_parquet(path, columns=["teacher_version"]).iloc[0, 0])
    return out


def register_one(client, experiment: str, name: str, registered: str, run_dir: Path, params: dict,
                 tags: dict[str, str]) -> dict:
    """One MLflow run holding the model's weights, config, metrics and params; one new version."""
    from mlflow.entities import Metric, Param

    cfg = json.loads((run_dir / "config.json").read_text())
    scores = cfg["scores"]
    run = client.create_run(experiment, run_name=f"register_{name}", tags={"avemo.model": name, **tags})
    rid, now = run.info.run_id, int(time.time() * 1000)
    metrics = [Metric(f"{split}/{k}", float(v), now, 0) for split, d in scores.items() for k, v in d.items()
               if v is not None]
    metrics += [Metric(f"modes/{m}/{k}", float(v), now, 0) for m, d in cfg.get("modes", {}).items()
                for k, v in d.items() if k.startswith("ccc") and v is not None]
    flat = {k: str(v)[:500] for k, v in params.items()}
    client.log_batch(rid, metrics=metrics, params=[Param(k, v) for k, v in flat.items()])
    for f in ("model.safetensors", "config.json"):
        client.log_artifact(rid, str(run_dir / f), artifact_path="model")
    client.set_terminated(rid)
    if not client.search_registered_models(filter_string=f"name = '{registered}'"):
        client.create_registered_model(registered)
    version_tags = {"avemo.model": name, "val_ccc_mean": f"{scores['val']['ccc_mean']:.6f}",
                    "test_ccc_mean": f"{scores['test']['ccc_mean']:.6f}", "run_dir": str(run_dir), **tags}
    mv = client.create_model_version(registered, source=f"runs:/{rid}/model", run_id=rid, tags=version_tags)
    return {"registered_model": registered, "version": mv.version, "run_id": rid,
            "val_ccc_mean": scores["val"]["ccc_mean"], "test_ccc_mean": scores["test"]["ccc_mean"]}


def run(p: Params) -> dict:
    found = models(p)
    if not any(k.endswith("_fusion") for k in found):
        raise FileNotFoundError(f"{p.fuse.out_dir}: no fused model to register; run `avemo fuse` first")
    client = tracking.mlflow_client(p.tracking)
    exp = tracking.experiment_id(client, p.tracking)
    batch = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")  # sortable: the newest registration is the max
    tags = {**lineage(p), **_pseudo_versions(p), "register_batch": batch}
    params = tracking.flatten_params({k: getattr(p, k) for k in ("model", "train", "student", "fuse")})
    registered = {name: register_one(client, exp, name, reg, run_dir, params, tags)
                  for name, (reg, run_dir) in found.items()}
    return {"batch": batch, "lineage": tags, "registered": registered}
