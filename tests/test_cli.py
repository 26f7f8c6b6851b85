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
def pipeline(tmp_path_factory, raw_params):
    """synthesize + ingest + validate once on the tiny corpus; return (params file, dict)."""
    base = tmp_path_factory.mktemp("cli")
    p = yaml.safe_load(yaml.safe_dump(raw_params))
    raw = base / "raw"
    p["synthesize"].update(size="tiny", out_dir=str(raw), report=str(base / "reports/corpus.json"))
    p["ingest"].update(iemocap=str(raw / "iemocap"), tedlium=str(raw / "tedlium"),
                       facesynthetics=str(raw / "facesynthetics"), out_dir=str(base / "interim"))
    p["validate"].update(manifests_dir=str(base / "interim"), out_dir=str(base / "validated"),
                         report=str(base / "reports/validation.json"),
                         report_md=str(base / "reports/validation.md"))
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
