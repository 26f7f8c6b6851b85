"""The validate stage end to end on tiny corpora: reports, quarantine, fail mode, raw untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from avemo.data import manifest
from avemo.validation import run as stage


def test_clean_corpus_passes_and_writes_manifests(clean_corpus, tmp_path: Path, kit):
    c = kit.fresh_copy(clean_corpus, tmp_path)
    cfg = c.cfg()
    result = stage.run(cfg, c.roots)
    assert result.success, result.summary()
    written = stage.write(result, cfg)
    report = json.loads(Path(cfg.report).read_text())
    assert report["success"] is True and report["failures"] == []
    assert report["checked"] == {"rows": 21, "files": 23}
    assert set(report["per_corpus"]) == {"iemocap", "tedlium", "facesynthetics"}
    assert "PASSED" in Path(cfg.report_md).read_text()
    for name, df in c.manifests.items():
        out = manifest.read(written[name])
        pd.testing.assert_frame_equal(out, df)
    assert len(pd.read_parquet(written["quarantine"])) == 0


@pytest.fixture(scope="module")
def bad_result(bad_corpus) -> stage.Result:
    return stage.run(bad_corpus.cfg(on_error="quarantine"), bad_corpus.roots)


def test_every_corruption_is_caught_and_named(bad_result: stage.Result, kit):
    report = bad_result.report
    assert report["success"] is False
    messages = [f["message"] for f in report["failures"]]
    for what, name in kit.CORRUPTIONS.items():
        assert any(name in m for m in messages), f"{what}: nothing names {name}"
    for clip in kit.BAD_VIDEO_CLIPS:
        assert any(clip in m for m in messages)
    json.dumps(report)  # JSON-ready
    for f in report["failures"]:
        assert {"suite", "expectation", "value", "message"} <= set(f)
        assert ("row" in f) or ("file" in f)
    md = bad_result.markdown
    assert "FAILED" in md
    for name in kit.CORRUPTIONS.values():
        assert name in md


def test_quarantine_mode_writes_clean_rows_and_the_list(bad_corpus, tmp_path: Path, kit):
    c = kit.fresh_copy(bad_corpus, tmp_path)
    before = c.raw_hashes()
    cfg = c.cfg(on_error="quarantine")
    result = stage.run(cfg, c.roots)
    written = stage.write(result, cfg)
    assert c.raw_hashes() == before  # raw data is never modified
    clean = manifest.read(written["iemocap"])
    quarantine = pd.read_parquet(written["quarantine"])
    assert list(quarantine.columns) == ["clip_id", "corpus", "row", "reasons"]
    bad_ids = set(quarantine["clip_id"])
    for what, name in kit.CORRUPTIONS.items():
        if what not in ("bad_video", "bad_image"):
            assert name in bad_ids, what
    assert set(kit.BAD_VIDEO_CLIPS) <= bad_ids and "000001" in bad_ids
    assert not bad_ids & set(clean["clip_id"])
    assert set(kit.GOOD_IEMOCAP) <= set(clean["clip_id"])
    assert len(clean) + (quarantine["corpus"] == "iemocap").sum() == len(c.manifests["iemocap"])
    assert list(clean.columns) == manifest.COLUMNS
    faces = manifest.read(written["facesynthetics"])
    assert list(faces["clip_id"]) == ["000000", "000002"]
    assert len(manifest.read(written["tedlium"])) == 3
    assert all(quarantine["reasons"].str.len() > 0)
    report = json.loads(Path(cfg.report).read_text())
    assert report["quarantined"] == len(quarantine) == report["bad_rows"]


def test_fail_mode_writes_no_manifests_and_removes_stale_ones(bad_corpus, tmp_path: Path, kit):
    c = kit.fresh_copy(bad_corpus, tmp_path)
    before = c.raw_hashes()
    cfg = c.cfg(on_error="fail")
    stale = Path(cfg.out_dir) / "iemocap.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale")
    result = stage.run(cfg, c.roots)
    with pytest.raises(stage.ValidationFailed) as err:
        stage.write(result, cfg)
    assert err.value.result is result
    assert "FAILED" in str(err.value) and str(cfg.report_md) in str(err.value)
    assert not Path(cfg.out_dir).exists()
    assert json.loads(Path(cfg.report).read_text())["quarantined"] == 0
    assert Path(cfg.report_md).is_file()
    assert c.raw_hashes() == before


def test_missing_manifest_is_a_table_failure(clean_corpus, tmp_path: Path, kit):
    c = kit.fresh_copy(clean_corpus, tmp_path)
    (c.manifests_dir / "tedlium.parquet").unlink()
    result = stage.run(c.cfg(on_error="quarantine"), c.roots)
    fails = [f for f in result.report["failures"] if f["corpus"] == "tedlium"]
    assert len(fails) == 1 and "not found" in fails[0]["message"] and fails[0]["row"] is None
    assert result.report["per_corpus"]["iemocap"]["success"] is True
    assert len(result.clean["tedlium"]) == 0
    assert list(result.clean["tedlium"].columns) == manifest.COLUMNS
