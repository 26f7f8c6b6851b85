"""The Prefect retraining flow under a test harness: end to end on the tiny corpora (direct
mode, a few epochs), a corrupted corpus stopping it at validation, the deployment's schedule."""

from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from avemo import config
from avemo.cli import app


@pytest.fixture(scope="module")
def harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _params(tiny_params, base: Path) -> Path:
    """Tiny corpora, tiny models, every output under ``base``."""
    cfg = tiny_params(base)
    cfg["train"].update(max_epochs=2, batch_size=8)
    for s in ("audio", "visual"):
        cfg["model"][s]["dim"] = 16
        cfg["pretrain"][s].update(epochs=1, batch_size=8)
    cfg["pretrain"].update(out_dir=str(base / "pretrain"), reports_dir=str(base / "reports"))
    cfg["teacher"]["out_dir"], cfg["student"]["out_dir"] = str(base / "teacher"), str(base / "student")
    cfg["pseudo"].update(out_dir=str(base / "pseudo"), report=str(base / "reports/pseudo.json"), passes=2)
    cfg["fuse"].update(out_dir=str(base / "fusion"))
    cfg["fuse"]["attention"].update(max_epochs=2, dim=16, heads=2)
    cfg["evaluate"].update(report=str(base / "reports/metrics.json"), plots_dir=str(base / "reports/plots"))
    cfg["registry"]["report"] = str(base / "reports/registry.json")
    cfg["serve"].update(bentoml_home=str(base / "bentoml"), report=str(base / "reports/package.json"))
    cfg["tracking"].update(mlflow_uri=f"sqlite:///{base}/mlflow.db", artifact_dir=str(base / "mlruns"))
    cfg["orchestrate"].update(mode="direct", retries=0)
    path = base / "params.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert CliRunner().invoke(app, ["synthesize", "--params", str(path)]).exit_code == 0
    return path


def _artifact(key: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return found[0] if found else None


def test_the_flow_retrains_promotes_and_packages_the_tiny_corpora(harness, tiny_params, tmp_path):
    from pipelines import retrain

    params = _params(tiny_params, tmp_path)
    metrics = retrain.run(str(params))
    assert {"audio", "visual", "student_audio", "student_visual", "late_fusion", "attention_fusion"} <= set(metrics["models"])
    p = config.load(params)
    registry = yaml.safe_load(Path(p.registry.report).read_text())
    assert registry["promotion"]["moved"]  # the first champion
    assert yaml.safe_load(Path(p.serve.report).read_text())["bento"].startswith("avemo:")
    assert "attention_fusion" in _artifact("metrics").data


def test_a_corrupted_corpus_stops_the_flow_at_validation(harness, tiny_params, tmp_path):
    from pipelines import retrain

    params = _params(tiny_params, tmp_path)
    wav = sorted(tmp_path.glob("raw/iemocap/Session1/sentences/wav/*/*.wav"))[0]
    wav.write_bytes(b"not audio at all" * 20)
    with pytest.raises(retrain.StageFailed, match="validate"):
        retrain.run(str(params))
    assert not (tmp_path / "features").exists() and not (tmp_path / "teacher").exists()  # no training
    assert wav.stem in _artifact("validation-report").data


def test_the_deployment_schedule_reads_back(harness):
    from prefect.client.orchestration import get_client

    from pipelines import deploy

    p = config.load("params.yaml")
    deploy.deployment(p).apply()
    with get_client(sync_client=True) as client:
        d = client.read_deployment_by_name(f"retrain/{p.orchestrate.deployment}")
    schedule = d.schedules[0].schedule
    assert schedule.cron == p.orchestrate.cron == "0 3 * * 1" and schedule.timezone == "UTC"
    assert d.parameters == {"params": "params.yaml"}


def test_feature_extraction_fans_out_on_a_dask_local_cluster(harness, tiny_params, tmp_path):
    """``orchestrate.task_runner: dask``: the mapped extraction tasks run on a Dask
    LocalCluster and write the same feature store the thread runner does."""
    from prefect import flow

    from avemo.features import store
    from pipelines import retrain

    params = _params(tiny_params, tmp_path)
    for stage in ("ingest", "validate"):
        assert CliRunner().invoke(app, [stage, "--params", str(params)]).exit_code == 0
    cfg = yaml.safe_load(params.read_text())
    stores = {}
    for runner in ("dask", "threads"):
        cfg["orchestrate"]["task_runner"] = runner
        cfg["features"].update(out_dir=str(tmp_path / f"features_{runner}"),
                               report=str(tmp_path / f"reports/features_{runner}.json"))
        path = tmp_path / f"params_{runner}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        task_runner = retrain.task_runner(config.load(path))
        assert type(task_runner).__name__ == {"dask": "DaskTaskRunner", "threads": "ThreadPoolTaskRunner"}[runner]
        fan_out = flow(name=f"features-{runner}")(retrain.features).with_options(task_runner=task_runner)
        assert fan_out(str(path), "direct")["counts"]["iemocap"]["train"]["clips"] > 0
        stores[runner] = store.read(cfg["features"]["out_dir"], "iemocap", "train")
    dask, threads = stores["dask"], stores["threads"]
    assert dask.index.equals(threads.index)
    assert dask.tensors.keys() == threads.tensors.keys()
    assert all(torch.equal(dask.tensors[k], threads.tensors[k]) for k in dask.tensors)
