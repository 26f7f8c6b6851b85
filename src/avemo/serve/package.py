"""The ``package`` stage: the registry's champion (``<fused_name>@champion``) imported into the
BentoML model store under ``serve.model_name`` (its weights, config, version and metrics,
plus the service limits and window settings from params.yaml as metadata), then a bento
built from ``serve.bentofile``. ``BENTOML_HOME`` is ``serve.bentoml_home``, inside the project.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from avemo import tracking
from avemo.config import Params
from avemo.models import fused

# serve.* settings that travel with the model as the service's limits
LIMITS = ("max_upload_mb", "min_audio_s", "max_duration_s", "max_video_frames", "max_request_s")


def use_home(p: Params) -> Path:
    """Point BentoML at the project's store (before bentoml is imported)."""
    home = Path(p.serve.bentoml_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["BENTOML_HOME"] = str(home)
    return home


def champion(p: Params, dst: Path) -> tuple[Path, dict]:
    """Download the champion's weights and config; return (folder, its registry version info)."""
    from avemo.registry import promote as gate

    client = tracking.mlflow_client(p.tracking)
    v = gate.champion(client, p.registry.fused_name)
    if v is None:
        raise FileNotFoundError(f"{p.registry.fused_name}: no champion in the registry; run `avemo register` "
                                f"(or `avemo promote`) first")
    folder = Path(client.download_artifacts(v.run_id, "model", str(dst)))
    info = {"registered_model": p.registry.fused_name, "version": str(v.version), "run_id": v.run_id,
            "method": v.tags.get("avemo.model"), **{k: v.tags[k] for k in v.tags if k.startswith(("dvc.", "pseudo."))}}
    return folder, info


def import_model(p: Params, folder: Path, info: dict):
    """The champion as a BentoML model; returns its store entry."""
    import bentoml

    _, cfg = fused.load(folder)  # refuse a folder that does not load before it reaches the store
    metadata = {"registry": info, "scores": cfg["scores"], "modes": cfg.get("modes", {}),
                "targets": cfg["targets"], "fusion": cfg["fusion"]["name"],
                "predict": p.predict.model_dump(mode="json"), "device": p.serve.device,
                "limits": {k: getattr(p.serve, k) for k in LIMITS}}
    with bentoml.models.create(p.serve.model_name, metadata=metadata,
                               labels={"registry_version": info["version"], "method": str(info["method"])}) as bm:
        for name in (fused.WEIGHTS, fused.CONFIG):
            shutil.copy2(folder / name, Path(bm.path) / name)
    return bm


def run(p: Params, *, build: bool = True) -> dict:
    use_home(p)
    import bentoml

    with tempfile.TemporaryDirectory() as tmp:
        folder, info = champion(p, Path(tmp))
        bm = import_model(p, folder, info)
    report = {"model": str(bm.tag), "registry": info, "bentoml_home": p.serve.bentoml_home}
    if build:
        bento = bentoml.bentos.build_bentofile(str(Path(p.serve.bentofile).resolve()), build_ctx="src")
        report["bento"] = str(bento.tag)
    return report
