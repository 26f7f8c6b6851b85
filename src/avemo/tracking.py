"""Experiment tracking in one place: MLflow and Comet ML loggers for Lightning.

- **MLflow**: a sqlite store by default (``tracking.mlflow_uri``; ``MLFLOW_TRACKING_URI`` overrides
  it), artifacts under ``tracking.artifact_dir`` (set as the experiment's ``artifact_location``
  when the experiment is first created; an existing experiment keeps its own location).
- **Comet ML**: online when ``COMET_API_KEY`` is set, otherwise an offline archive
  (``<run_dir>/comet/<experiment key>.zip``) that ``comet upload <zip>`` sends later.

Lightning 2.6's ``CometLogger(online=False)`` creates a *disabled* experiment that writes nothing,
so the offline logger is built with ``online`` left out while ``COMET_START_ONLINE=0`` and
``COMET_OFFLINE_DIRECTORY`` are set (only for the duration of the construction; the previous
environment is restored). The archive is written when the experiment ends: call
:func:`finalize` after training and after :func:`log_files` / :func:`log_metrics`.

Secrets (``COMET_API_KEY``, ``HF_TOKEN``) are only ever tested for presence, never passed,
logged or printed; Comet reads the key from the environment itself.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avemo.console import quiet_third_party
from avemo.extras import MissingExtra, require

if TYPE_CHECKING:
    from pytorch_lightning.loggers import Logger

    from avemo.config import TrackingConfig

COMET_KEY_ENV = "COMET_API_KEY"
SECRET_ENVS = (COMET_KEY_ENV, "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "COMET_REST_API_KEY")
_SQLITE = "sqlite:///"

# Comet settings for both modes: no code / git-patch upload, no stdout capture, no CLI-argument
# parsing (these could copy secrets or large diffs into the run), no console summary.
_COMET_OPTIONS: dict[str, Any] = {
    "log_code": False,
    "log_graph": False,
    "parse_args": False,
    "log_git_patch": False,
    "auto_output_logging": False,
    "display_summary_level": 0,
}
# Offline runs also skip environment probes (hardware monitor threads, host info).
_COMET_OFFLINE_OPTIONS: dict[str, Any] = {
    "log_env_details": False,
    "log_env_gpu": False,
    "log_env_cpu": False,
    "log_env_host": False,
    "log_env_network": False,
    "log_env_disk": False,
    "log_git_metadata": False,
}


# --- configuration ------------------------------------------------------------------------


def mlflow_uri(cfg: TrackingConfig) -> str:
    """The MLflow tracking URI: ``MLFLOW_TRACKING_URI`` if set, else ``cfg.mlflow_uri``.

    A relative sqlite path (``sqlite:///mlruns.db``) is resolved against the current working
    directory to an absolute one (``sqlite:////abs/mlruns.db``); other URIs pass through.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.mlflow_uri
    if uri.startswith(_SQLITE) and not uri.startswith(_SQLITE + "/"):
        rest = uri[len(_SQLITE):]
        if rest and not rest.startswith(":memory:"):
            uri = _SQLITE + str((Path.cwd() / rest).resolve())
    return uri


def comet_online() -> bool:
    """True when a Comet API key is present in the environment (its value is never read out)."""
    return bool(os.environ.get(COMET_KEY_ENV, "").strip())


def flatten_params(params: Any, sep: str = ".") -> dict[str, Any]:
    """Nested mapping (or pydantic model) -> flat ``{"train.lr": 0.002, ...}``.

    Lists of scalars stay lists (Comet shows them as such; MLflow stores their ``str``).
    """
    if hasattr(params, "model_dump"):
        params = params.model_dump(by_alias=True, mode="json")
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if hasattr(value, "model_dump"):
            value = value.model_dump(by_alias=True, mode="json")
        if isinstance(value, Mapping):
            if not value and prefix:
                out[prefix] = "{}"
            for k, v in value.items():
                walk(f"{prefix}{sep}{k}" if prefix else str(k), v)
        elif isinstance(value, Path):
            out[prefix] = str(value)
        else:
            out[prefix] = value

    walk("", params)
    return out


@contextmanager
def _env(**values: str | None) -> Iterator[None]:
    """Set (or, with None, remove) environment variables inside the block; restore afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _import_comet() -> Any:
    """Import comet_ml with its Sentry error reporting off (unless the user opted in).

    At import, comet_ml 3.58 turns Sentry on for a random half of processes, and then every
    comet_ml WARNING (e.g. "import comet_ml before torch") is sent to sentry.io: a network call
    even for offline experiments. ``COMET_ERROR_TRACKING_ENABLE=false`` during the import stops
    that; if comet_ml was imported earlier and its Sentry client is live, that client is closed.
    """
    explicit = os.environ.get("COMET_ERROR_TRACKING_ENABLE")
    with _env(COMET_ERROR_TRACKING_ENABLE=explicit or "false"):
        import comet_ml
    if explicit is None or explicit.strip().lower() not in {"1", "true", "yes", "on"}:
        try:
            import sentry_sdk

            client = sentry_sdk.get_client()
            comet_dsn = comet_ml.get_config().get_string(None, "comet.internal.sentry_dsn")
            if client.is_active() and comet_dsn and str(client.dsn) == comet_dsn:
                client.close(timeout=0)
        except Exception:  # best effort: never let telemetry plumbing break a run
            pass
    return comet_ml


def _import_mlflow() -> Any:
    """Import mlflow with its usage telemetry off (unless the user set MLFLOW_DISABLE_TELEMETRY).

    At import, MLflow 3 starts a telemetry client whose thread fetches its config from
    config.mlflow-telemetry.io: a network call at run time, even with a local sqlite store. The
    client is re-evaluated under ``MLFLOW_DISABLE_TELEMETRY=true``, which also drops one set up
    by an earlier import; the caller's environment is left as it was.
    """
    explicit = os.environ.get("MLFLOW_DISABLE_TELEMETRY")
    with _env(MLFLOW_DISABLE_TELEMETRY=explicit or "true"):
        import mlflow
        from mlflow.telemetry.client import set_telemetry_client

        set_telemetry_client()
    return mlflow


def _local_store(uri: str) -> bool:
    """sqlite database or local folder (as opposed to an MLflow tracking server)."""
    return uri.startswith(("sqlite:", "file:")) or "://" not in uri


def _sqlite_parent(uri: str) -> None:
    if uri.startswith(_SQLITE + "/"):
        Path(uri[len(_SQLITE):]).parent.mkdir(parents=True, exist_ok=True)


def mlflow_client(cfg: TrackingConfig) -> Any:
    """An ``MlflowClient`` on the configured store (no global MLflow state is touched)."""
    if "mlflow" not in cfg.backends:
        raise RuntimeError("tracking.backends leaves out mlflow, whose model registry this command uses "
                           "(register, promote, rollback, package): add mlflow to tracking.backends")
    _import_mlflow()
    from mlflow import MlflowClient

    uri = mlflow_uri(cfg)
    _sqlite_parent(uri)
    return MlflowClient(tracking_uri=uri)


def experiment_id(client: Any, cfg: TrackingConfig) -> str:
    """The id of ``cfg.experiment``, created (artifacts under ``cfg.artifact_dir``) if missing."""
    exp = client.get_experiment_by_name(cfg.experiment)
    if exp is not None:
        return exp.experiment_id
    location = None
    if _local_store(client.tracking_uri):
        artifact_dir = Path(cfg.artifact_dir).resolve()
        artifact_dir.mkdir(parents=True, exist_ok=True)
        location = artifact_dir.as_uri()
    return client.create_experiment(cfg.experiment, artifact_location=location)


# --- loggers ---------------------------------------------------------------------------------


def loggers(cfg: TrackingConfig, run_name: str, run_dir: Path, params: Mapping[str, Any]) -> list[Logger]:
    """The loggers of ``tracking.backends`` for ``pl.Trainer(logger=...)``, params logged: an
    ``MLFlowLogger`` and a ``CometLogger`` by default, none for ``backends: []``.

    ``run_dir`` is the stage's output folder; the offline Comet archive goes to ``run_dir/comet``.
    """
    if cfg.backends:
        try:
            require("track")
        except MissingExtra as err:
            raise MissingExtra(f"{err}; or run without tracking: tracking.backends: []") from None
    quiet_third_party()  # MLflow's database set-up, Comet's import-order warning and archiving steps
    run_dir = Path(run_dir)
    flat = flatten_params(params)
    made = {"mlflow": _mlflow_logger, "comet": _comet_logger}
    return [made[name](cfg, run_name, run_dir, flat) for name in cfg.backends]


def _mlflow_logger(cfg: TrackingConfig, run_name: str, run_dir: Path, flat: dict[str, Any]) -> Logger:
    from pytorch_lightning.loggers import MLFlowLogger

    _import_mlflow()
    uri = mlflow_uri(cfg)
    _sqlite_parent(uri)
    artifact_location = None
    if _local_store(uri):  # a tracking server decides its own artifact store
        artifact_dir = Path(cfg.artifact_dir).resolve()
        artifact_dir.mkdir(parents=True, exist_ok=True)
        artifact_location = artifact_dir.as_uri()
    mlf = MLFlowLogger(
        experiment_name=cfg.experiment,
        run_name=run_name,
        tracking_uri=uri,
        artifact_location=artifact_location,
        log_model=False,
    )
    # creating the run calls mlflow.set_tracking_uri, which (MLflow 3) also exports
    # MLFLOW_TRACKING_URI: restore the caller's environment, or every later run in this process
    # would take that URI as the user's override and ignore its own params
    with _env(MLFLOW_TRACKING_URI=os.environ.get("MLFLOW_TRACKING_URI")):
        mlf.log_hyperparams(flat)  # also creates the run
    return mlf


def _comet_logger(cfg: TrackingConfig, run_name: str, run_dir: Path, flat: dict[str, Any]) -> Logger:
    from pytorch_lightning.loggers import CometLogger

    _import_comet()
    # mode="create": a new experiment per run (offline archive named `<key>.zip`).
    kwargs: dict[str, Any] = dict(_COMET_OPTIONS, project=cfg.comet_project, name=run_name, mode="create")
    if cfg.comet_workspace:
        kwargs["workspace"] = cfg.comet_workspace
    if comet_online():
        comet = CometLogger(**kwargs)
    else:
        offline_dir = (run_dir / "comet").resolve()
        offline_dir.mkdir(parents=True, exist_ok=True)
        kwargs.update(_COMET_OFFLINE_OPTIONS, offline_directory=str(offline_dir))
        # `online` left out on purpose: CometLogger(online=False) disables the experiment.
        with _env(COMET_START_ONLINE="0", COMET_OFFLINE_DIRECTORY=str(offline_dir)):
            comet = CometLogger(**kwargs)
    comet.log_hyperparams(flat)
    return comet


def rank_zero() -> bool:
    """False in the non-zero ranks of a multi-process (DDP) run: only rank 0 talks to trackers."""
    from lightning_utilities.core.rank_zero import rank_zero_only

    rank = getattr(rank_zero_only, "rank", None)
    if rank is None:  # Lightning not initialised yet: the launcher's environment tells
        rank = int(os.environ.get("RANK") or os.environ.get("LOCAL_RANK") or 0)
    return rank == 0


def _mlflow(logs: list[Logger]) -> list[Any]:
    from pytorch_lightning.loggers import MLFlowLogger

    return [lg for lg in logs if isinstance(lg, MLFlowLogger)]


def _comet(logs: list[Logger]) -> list[Any]:
    from pytorch_lightning.loggers import CometLogger

    return [lg for lg in logs if isinstance(lg, CometLogger)]


def log_files(logs: list[Logger], files: Mapping[str, str | Path]) -> None:
    """Upload files (plots, ``.safetensors`` weights, config JSON) to every logger.

    ``files`` maps an artifact name to a local path. The name may hold a folder
    (``"plots/va_plane.png"``): MLflow stores the file under that artifact path, Comet under the
    base name (``.png``/``.jpg`` as images, the rest as assets). A name without a suffix keeps
    the local file's name inside that folder (``{"weights": Path("m.safetensors")}`` ->
    ``weights/m.safetensors``).
    """
    import shutil
    import tempfile

    if not rank_zero():
        return
    items: list[tuple[str, str, Path]] = []  # (mlflow folder, file name, local path)
    for name, p in files.items():
        p = Path(p)
        if not p.is_file():
            raise FileNotFoundError(f"artifact {name!r}: {p} is not a file")
        n = Path(name)
        folder, file_name = (str(n.parent), n.name) if n.suffix else (str(n), p.name)
        items.append(("" if folder == "." else folder, file_name, p))

    for lg in _mlflow(logs):
        with tempfile.TemporaryDirectory(prefix="avemo-artifacts-") as tmp:
            for i, (folder, file_name, p) in enumerate(items):
                src = p
                if file_name != p.name:  # MLflow keeps the local base name: stage a renamed copy
                    src = Path(tmp) / str(i) / file_name
                    src.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(p, src)
                lg.experiment.log_artifact(lg.run_id, str(src), artifact_path=folder or None)
    for lg in _comet(logs):
        exp = lg.experiment
        for _folder, file_name, p in items:
            if p.suffix.lower() in {".png", ".jpg", ".jpeg"}:
                exp.log_image(str(p), name=Path(file_name).stem)
            else:
                exp.log_asset(str(p), file_name=file_name)


def log_metrics(logs: list[Logger], metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log final (e.g. test) metrics to every logger; non-finite values are skipped."""
    if not rank_zero():
        return
    clean = {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}
    for lg in logs:
        lg.log_metrics(clean, step=step)


def finalize(logs: list[Logger], status: str = "success") -> Path | None:
    """End every run: the MLflow run becomes FINISHED (``status="failed"``: FAILED) and the Comet
    experiment ends, which writes its offline zip. Safe to call twice.

    Returns the path of the Comet offline archive, or None when Comet ran online.
    """
    if not rank_zero() or not logs:
        return None
    zip_path: Path | None = None
    for lg in _mlflow(logs):
        lg.finalize(status)  # "success" -> FINISHED, "failed" -> FAILED
    for lg in _comet(logs):
        from comet_ml import OfflineExperiment

        exp = lg._experiment  # None when never created (non-zero rank)
        if exp is None:
            continue
        exp.end()
        if isinstance(exp, OfflineExperiment):
            found = sorted(Path(exp.offline_directory).glob(f"{exp.get_key()}*.zip"),
                           key=lambda p: p.stat().st_mtime)
            if found:
                zip_path = found[-1]
    return zip_path
