"""The retraining flow: ingest -> validate -> features -> pretrain -> teacher -> pseudo-label ->
student -> fuse -> evaluate -> register/promote -> package -> (release).

Each step runs a pipeline stage, never its logic: in ``orchestrate.mode: dvc`` as
``dvc repro --single-item <stage>`` (DVC skips a stage whose code, params and data did not
change), in ``direct`` mode as the stage's ``avemo`` command in this process, on any params
file. Feature extraction fans out as mapped Prefect tasks, one per dialog video, talk or chunk
of images, on the configured task runner (threads, or Dask); in dvc mode it runs only when
``dvc status features`` says the stage changed, and ``dvc commit`` records its outputs.
A failed validation stops the flow before any training and attaches the validation report
as a Prefect artifact; the final metrics table is a markdown artifact.

    uv run python -m pipelines.retrain [--params params.yaml]
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact

from avemo import config

TRAINING = ("pretrain_audio", "pretrain_visual", "teacher", "pseudo_label", "student", "fuse", "evaluate")


class StageFailed(RuntimeError):
    """A stage exited non-zero; the message says which and why."""


def _dvc(*args: str) -> str:
    res = subprocess.run(["dvc", *args], capture_output=True, text=True)
    if res.returncode:
        raise StageFailed(f"dvc {' '.join(args)} failed:\n{(res.stderr or res.stdout)[-2000:]}")
    return res.stdout


def _command(stage: str, params: str, **options) -> None:
    """The stage's `avemo` command, in this process (what dvc.yaml runs)."""
    import typer

    from avemo import cli

    try:
        getattr(cli, stage)(params=Path(params), **options)
    except typer.Exit as err:
        if err.exit_code:
            raise StageFailed(f"avemo {stage.replace('_', '-')} failed (exit {err.exit_code}); see the log above") from None


@task(name="stage")
def run_stage(stage: str, params: str, mode: str) -> str:
    if mode == "dvc":
        _dvc("repro", "--single-item", stage)
    else:
        _command(stage, params)
    return stage


@task(name="validate")
def validate(params: str, mode: str) -> None:
    """The validate stage; on failure the report becomes an artifact and the flow stops."""
    try:
        run_stage.fn("validate", params, mode)
    except StageFailed:
        p = config.load(params)
        report = Path(p.validate_.report_md)
        create_markdown_artifact(key="validation-report", description="data validation failed: training skipped",
                                 markdown=report.read_text() if report.is_file() else "(no validation report written)")
        raise


@task(name="extract")
def extract(item, cfg):
    from avemo.features import stage

    return item, stage.extract(item, cfg)


@task(name="features-plan")
def features_changed(mode: str) -> bool:
    return mode != "dvc" or bool(json.loads(_dvc("status", "--json", "features") or "{}"))


def features(params: str, mode: str) -> dict | None:
    """Feature extraction fanned out over the flow's task runner; in dvc mode only when the
    stage changed, its outputs then recorded with ``dvc commit``."""
    from avemo.features import stage

    if not features_changed(mode):
        get_run_logger().info("features: up to date (dvc status), skipped")
        return None
    p = config.load(params)
    roots = {"iemocap": p.ingest.iemocap, "tedlium": p.ingest.tedlium, "facesynthetics": p.ingest.facesynthetics}
    t0 = time.perf_counter()
    manifests, items = stage.plan(p.features, p.validate_.out_dir, roots)
    futures = extract.map(items, cfg=unmapped(p.features))
    report = stage.write(p.features, manifests, (f.result() for f in futures), t0)
    stage.write_report(report, p.features.report)
    if mode == "dvc":
        _dvc("commit", "--force", "features")
    return report


def metrics_markdown(metrics: dict) -> str:
    rows = ["| model | CCC valence | CCC arousal | CCC mean |", "| --- | --- | --- | --- |"]
    oracle = [("oracle", metrics["oracle"])] if metrics.get("oracle") else []
    for name, s in [*oracle, *((n, m["test"]) for n, m in metrics["models"].items())]:
        rows.append(f"| {name} | {s['ccc_valence']:.3f} | {s['ccc_arousal']:.3f} | {s['ccc_mean']:.3f} |")
    return "Test split (`reports/metrics.json`):\n\n" + "\n".join(rows)


@flow(name="retrain")
def retrain(params: str = config.DEFAULT_PARAMS, mode: str | None = None) -> dict:
    """Retrain, evaluate, promote and package; returns the metrics report."""
    p = config.load(params)
    mode = mode or p.orchestrate.mode
    o = p.orchestrate
    io = run_stage.with_options(retries=o.retries, retry_delay_seconds=o.retry_delay_s)
    io.with_options(name="ingest")("ingest", params, mode)
    validate(params, mode)  # no retries: a failed validation is an answer, not a glitch
    features(params, mode)
    for stage in TRAINING:
        run_stage.with_options(name=stage)(stage, params, mode)
    metrics = json.loads(Path(p.evaluate.report).read_text())
    create_markdown_artifact(key="metrics", markdown=metrics_markdown(metrics), description="retrain: test metrics")
    for stage in ("register", "package"):
        io.with_options(name=stage)(stage, params, mode)
    if o.release_repo:
        task(name="release", retries=o.retries, retry_delay_seconds=o.retry_delay_s)(_command)(
            "release", params, repo_id=o.release_repo)
    return metrics


def task_runner(p: config.Params):
    """The configured task runner for mapped feature extraction."""
    if p.orchestrate.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise RuntimeError("orchestrate.task_runner: dask needs prefect-dask: `uv sync --extra all` (or pip install avemo[dask]), "
                               "or set it to threads") from None
        return DaskTaskRunner(cluster_kwargs={"n_workers": p.orchestrate.max_workers})
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=p.orchestrate.max_workers)


def run(params: str = config.DEFAULT_PARAMS, mode: str | None = None) -> dict:
    """The flow with the task runner from params."""
    return retrain.with_options(task_runner=task_runner(config.load(params)))(params, mode)


if __name__ == "__main__":
    import os

    import typer

    # without PREFECT_API_URL a temporary local server runs the flow: give its first start
    # (database migrations) time, and keep it from phoning home
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    typer.run(run)
