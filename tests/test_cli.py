"""The `avemo` CLI end to end on the tiny embedded corpus: the happy path, and bad input
that must stop the chain with a message naming the item, raw data untouched."""

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from avemo.cli import app

runner = CliRunner()


def _invoke(params: Path, *args: str):
    return runner.invoke(app, [*args, "--params", str(params)])


def _digest(root: Path) -> str:
    h = hashlib.sha1()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, tiny_params):
    """synthesize + ingest + validate once on the tiny corpus; return (params file, dict)."""
    base = tmp_path_factory.mktemp("cli")
    p = tiny_params(base)
    path = base / "params.yaml"
    path.write_text(yaml.safe_dump(p))
    for stage in ("synthesize", "ingest", "validate"):
        res = _invoke(path, stage)
        assert res.exit_code == 0, (stage, res.output)
    return path, p


@pytest.mark.parametrize("cmd", ["synthesize", "ingest", "validate", "summary"])
def test_help(cmd):
    res = runner.invoke(app, [cmd, "--help"])
    assert res.exit_code == 0 and "--params" in res.output


def test_happy_path_writes_reports_and_validated_manifests(pipeline):
    _, p = pipeline
    corpus = json.loads(Path(p["synthesize"]["report"]).read_text())
    assert set(corpus["oracle"]) == {"ccc_valence", "ccc_arousal", "ccc_dominance"}
    assert corpus["counts"]["iemocap"]["speakers"] == 10
    report = json.loads(Path(p["validate"]["report"]).read_text())
    assert report["success"] and report["failures"] == []
    for c in ("iemocap", "tedlium", "facesynthetics"):
        assert (Path(p["validate"]["out_dir"]) / f"{c}.parquet").is_file()


def test_summary_prints_results_table(pipeline):
    path, _ = pipeline
    res = _invoke(path, "summary")
    assert res.exit_code == 0
    assert "oracle ccc_valence" in res.output and "files decoded" in res.output


def test_bad_params_exit_2_naming_the_key(pipeline, tmp_path):
    _, p = pipeline
    bad = yaml.safe_load(yaml.safe_dump(p))
    bad["ingest"]["out_dirr"] = "x"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    res = _invoke(path, "ingest")
    assert res.exit_code == 2 and "ingest.out_dirr" in res.output


def test_malformed_emoevaluation_line_stops_ingest(pipeline, tmp_path):
    import shutil

    _, p = pipeline
    raw = tmp_path / "iemocap"
    shutil.copytree(p["ingest"]["iemocap"], raw)
    eva = sorted(raw.glob("Session2/dialog/EmoEvaluation/*.txt"))[0]
    lines = eva.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("["))
    lines[k] = lines[k].replace("]\t", "\t", 1)  # drop the closing bracket of the times
    eva.write_text("\n".join(lines) + "\n")
    before = _digest(raw)
    cfg = yaml.safe_load(yaml.safe_dump(p))
    cfg["ingest"].update(iemocap=str(raw), out_dir=str(tmp_path / "interim"))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = _invoke(path, "ingest")
    assert res.exit_code == 1
    assert f"{eva.name}:{k + 1}" in res.output.replace("\n", "")
    assert not (tmp_path / "interim").exists()  # nothing half-written downstream
    assert _digest(raw) == before  # raw data untouched


def test_corrupt_wav_fails_validation_then_quarantine_passes(pipeline, tmp_path):
    import shutil

    _, p = pipeline
    raw = tmp_path / "raw"
    shutil.copytree(Path(p["ingest"]["iemocap"]).parent, raw)
    wav = sorted((raw / "iemocap").glob("Session3/sentences/wav/*/*.wav"))[0]
    wav.write_bytes(b"this is not audio" * 10)
    cfg = yaml.safe_load(yaml.safe_dump(p))
    cfg["ingest"].update(iemocap=str(raw / "iemocap"), tedlium=str(raw / "tedlium"),
                         facesynthetics=str(raw / "facesynthetics"), out_dir=str(tmp_path / "interim"))
    cfg["validate"].update(manifests_dir=str(tmp_path / "interim"), out_dir=str(tmp_path / "validated"),
                           report=str(tmp_path / "validation.json"), report_md=str(tmp_path / "validation.md"))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert _invoke(path, "ingest").exit_code == 0
    before = _digest(raw)

    res = _invoke(path, "validate")
    assert res.exit_code == 1
    assert wav.stem in res.output.replace("\n", "")
    assert not (tmp_path / "validated").exists()  # downstream gets nothing
    assert wav.stem in (tmp_path / "validation.md").read_text()

    cfg["validate"]["on_error"] = "quarantine"
    path.write_text(yaml.safe_dump(cfg))
    res = _invoke(path, "validate")
    assert res.exit_code == 0, res.output
    import pandas as pd

    clean = pd.read_parquet(tmp_path / "validated/iemocap.parquet")
    quarantine = pd.read_parquet(tmp_path / "validated/quarantine.parquet")
    assert wav.stem not in set(clean["clip_id"]) and wav.stem in set(quarantine["clip_id"])
    assert _digest(raw) == before


@pytest.mark.parametrize("cmd", ["features", "teacher", "pseudo-label", "student", "pseudo-experiment", "evaluate"])
def test_learning_commands_have_help(cmd):
    res = runner.invoke(app, [cmd, "--help"])
    assert res.exit_code == 0 and "--params" in res.output


def test_features_without_validated_manifests_fails_clearly(pipeline, tmp_path):
    _, p = pipeline
    cfg = yaml.safe_load(yaml.safe_dump(p))
    cfg["validate"]["out_dir"] = str(tmp_path / "nothing-here")
    cfg["features"] = {"out_dir": str(tmp_path / "features"), "report": str(tmp_path / "features.json")}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = _invoke(path, "features")
    assert res.exit_code == 1 and "avemo validate" in res.output.replace("\n", " ")
    assert not (tmp_path / "features").exists()


def test_fast_dev_run_features_pretrain_teacher_pseudo_student_evaluate(pipeline, tmp_path):
    """The learning stages end to end on the tiny corpus: 1-2 epochs, tracked, scored."""
    _, p = pipeline
    cfg = yaml.safe_load(yaml.safe_dump(p))
    cfg["features"] = {"out_dir": str(tmp_path / "features"), "report": str(tmp_path / "features.json")}
    cfg["train"] = {"max_epochs": 2, "batch_size": 8}
    cfg["model"] = {"audio": {"name": "audio_cnn", "dim": 16}, "visual": {"name": "visual_cnn", "dim": 16}}
    cfg["teacher"] = {"out_dir": str(tmp_path / "teacher")}
    cfg["pretrain"] = {"out_dir": str(tmp_path / "pretrain"), "reports_dir": str(tmp_path),
                       "audio": {"objective": "simclr", "epochs": 1, "batch_size": 8},
                       "visual": {"objective": "vicreg", "epochs": 1, "batch_size": 8}}
    cfg["tracking"] = {"mlflow_uri": f"sqlite:///{tmp_path}/mlflow.db", "artifact_dir": str(tmp_path / "mlruns")}
    cfg["evaluate"] = {"report": str(tmp_path / "metrics.json"), "plots_dir": str(tmp_path / "plots")}
    cfg["pseudo"] = {"out_dir": str(tmp_path / "pseudo"), "report": str(tmp_path / "pseudo.json"), "passes": 3}
    cfg["student"] = {"out_dir": str(tmp_path / "student")}
    cfg["fuse"] = {"out_dir": str(tmp_path / "fusion")}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = _invoke(path, "student")
    assert res.exit_code == 1 and "avemo pseudo-label" in res.output.replace("\n", " ")
    for stage in ("features", "pretrain-audio", "pretrain-visual", "teacher", "pseudo-label", "student", "evaluate"):
        res = _invoke(path, stage)
        assert res.exit_code == 0, (stage, res.output)

    feats = json.loads((tmp_path / "features.json").read_text())
    assert feats["detection_rate"]["iemocap"] > 0.5 and feats["audio_rtf"] > 100
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["models"]) == {"audio", "visual", "student_audio", "student_visual"}
    pseudo = json.loads((tmp_path / "pseudo.json").read_text())
    for stream in ("audio", "visual"):
        assert 0 < pseudo[stream]["coverage"] <= 0.5 and "selected_vs_truth" in pseudo[stream]
        assert (tmp_path / f"pseudo/{stream}.parquet").is_file()
    for m in metrics["models"].values():
        assert {"ccc_valence", "ccc_arousal", "ccc_mean", "pcc_mean", "rmse_mean"} <= set(m["test"])
    assert metrics["oracle"]["ccc_valence"] > 0.5
    for name in ("audio", "visual"):
        assert (tmp_path / f"plots/{name}_pred_vs_true.png").is_file()
        assert (tmp_path / f"plots/{name}_va_plane.png").is_file()
        assert (tmp_path / f"plots/{name}_history.csv").is_file()
        assert (tmp_path / f"teacher/{name}/model.safetensors").is_file()
        assert list((tmp_path / f"teacher/{name}/comet").glob("*.zip"))  # Comet offline archive

    import mlflow

    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("avemo").experiment_id])
    assert {r.info.run_name for r in runs} >= {"teacher_audio", "teacher_visual", "pretrain_audio_simclr",
                                                "pretrain_visual_vicreg"}
    assert all("test/ccc_mean" in r.data.metrics for r in runs if r.info.run_name.startswith("teacher"))
    for stream in ("audio", "visual"):
        rep = json.loads((tmp_path / f"pretrain_{stream}.json").read_text())
        assert {"probe", "random_probe", "probe_plain", "embedding_std"} <= set(rep)


@pytest.mark.parametrize("cmd", ["ssl-experiment", "pseudo-experiment"])
def test_experiments_reject_an_unknown_stream(cmd):
    res = runner.invoke(app, [cmd, "--stream", "smell"])
    assert res.exit_code == 2 and "choose audio or visual" in res.output
