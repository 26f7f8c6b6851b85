"""Suites: placeholders, derived columns, clean manifests pass, each broken rule is named."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from avemo.data import manifest
from avemo.validation import suites

CORPORA = ("iemocap", "tedlium", "facesynthetics")


@pytest.fixture(scope="module")
def loaded(clean_corpus, kit) -> dict[str, dict]:
    values = suites.params_of(clean_corpus.cfg())
    return {c: suites.load(kit.EXPECTATIONS / f"{c}.json", values) for c in CORPORA}


def check(corpus, loaded: dict, name: str, df: pd.DataFrame) -> list[dict]:
    return suites.check(df, loaded[name], corpus.roots[name])


def test_suite_files_are_gx_json_with_params_as_placeholders(loaded, kit):
    for name in CORPORA:
        raw = json.loads((kit.EXPECTATIONS / f"{name}.json").read_text())
        assert raw["name"] == name and raw["meta"]["corpus"] == name
        text = json.dumps(raw["expectations"])
        assert "16000" not in text and "60.0" not in text  # params.yaml is the one place
        if name != "facesynthetics":
            assert '"$sample_rate"' in text and '"$max_duration_s"' in text
        assert not re.search(r'"\$\w+"', json.dumps(loaded[name]["expectations"]))
    between = [e["kwargs"] for e in loaded["iemocap"]["expectations"]
               if e["kwargs"].get("column") == "duration_s" and "min_value" in e["kwargs"]]
    assert between == [{"column": "duration_s", "min_value": 0.2, "max_value": 60.0}]


def test_unknown_placeholder_is_an_error():
    with pytest.raises(suites.SuiteError, match=r"\$nope"):
        suites.substitute({"kwargs": {"min_value": "$nope"}}, {"sample_rate": 1})


def test_missing_suite_file_names_the_setting(tmp_path):
    with pytest.raises(suites.SuiteError, match="expectations_dir"):
        suites.load(tmp_path / "iemocap.json", {})


def test_derived_columns(clean_corpus):
    df = clean_corpus.manifests["iemocap"].copy()
    df.loc[0, "audio_path"] = "nowhere.wav"
    df.loc[df["speaker"] == "Ses05_F", "split"] = ["train"]
    out = suites.derive(df, clean_corpus.roots["iemocap"])
    assert list(out.columns) == manifest.COLUMNS + list(suites.DERIVED)
    assert not out.at[0, "audio_exists"] and out["audio_exists"].iloc[1:].all()
    assert out["video_exists"].all()
    assert set(out.loc[out["speaker"] == "Ses05_F", "speaker_split_count"]) == {1}
    faces = suites.derive(clean_corpus.manifests["facesynthetics"], None)
    assert (faces["speaker_split_count"] == 0).all() and not faces["video_exists"].any()


def test_clean_manifests_pass(clean_corpus, loaded):
    for name in CORPORA:
        assert check(clean_corpus, loaded, name, clean_corpus.manifests[name]) == []


def test_each_bad_row_is_named(clean_corpus, loaded):
    df = clean_corpus.manifests["iemocap"].copy()
    ids = list(df["clip_id"])
    df.at[0, "valence"] = 1.7
    df.at[1, "arousal"] = np.nan
    df.at[2, "end_s"] = df.at[2, "start_s"] - 0.1
    df.at[3, "duration_s"] = 0.05
    df.at[4, "sample_rate"] = 8000
    df.at[5, "split"] = "holdout"
    df.at[6, "label_source"] = "guess"
    df.at[7, "audio_path"] = "Session1/nope.wav"
    df = pd.concat([df, df.iloc[[8]]], ignore_index=True).astype(manifest.SCHEMA)
    fails = check(clean_corpus, loaded, "iemocap", df)
    by_row = {}
    for f in fails:
        assert set(f) >= {"suite", "expectation", "row", "clip_id", "value", "message"}
        assert f["suite"] == "iemocap"
        by_row.setdefault(f["row"], []).append(f)
    msg = {r: " | ".join(f["message"] for f in fs) for r, fs in by_row.items()}
    assert f"clip '{ids[0]}': valence=1.7 outside [-1, 1]" in msg[0]
    assert "arousal is missing (null)" in msg[1] and ids[1] in msg[1]
    assert "end_s=" in msg[2] and "is not > start_s=" in msg[2] and ids[2] in msg[2]
    assert "duration_s=0.05 outside [0.2, 60]" in msg[3]
    assert "sample_rate=8000 not in {16000}" in msg[4]
    assert "split='holdout'" in msg[5]
    assert "label_source='guess'" in msg[6]
    assert "Session1/nope.wav" in msg[7] and "does not exist" in msg[7]
    dup = len(df) - 1
    assert "not unique" in msg[8] and ids[8] in msg[8] and f"rows 8, {dup}" in msg[dup]
    assert set(by_row) == {0, 1, 2, 3, 4, 5, 6, 7, 8, dup}
    assert by_row[0][0]["value"] == 1.7 and by_row[0][0]["clip_id"] == ids[0]


def test_speaker_in_two_splits(clean_corpus, loaded):
    df = clean_corpus.manifests["iemocap"].copy()
    target = df.index[df["speaker"] == "Ses01_M"][0]
    df.at[target, "split"] = "test"
    fails = check(clean_corpus, loaded, "iemocap", df)
    assert {f["column"] for f in fails} == {"speaker"}
    assert {f["row"] for f in fails} == set(df.index[df["speaker"] == "Ses01_M"])
    assert all("'Ses01_M' appears in 2 splits (test, train)" in f["message"] for f in fails)


def test_unlabelled_corpora_must_have_no_labels(clean_corpus, loaded):
    ted = clean_corpus.manifests["tedlium"].copy()
    ted.at[1, "valence"] = 0.3
    fails = check(clean_corpus, loaded, "tedlium", ted)
    assert [(f["row"], f["column"]) for f in fails] == [(1, "valence")]
    assert ted.at[1, "clip_id"] in fails[0]["message"] and "should be null" in fails[0]["message"]
    faces = clean_corpus.manifests["facesynthetics"].copy()
    faces.at[2, "video_path"] = "000002.jpg"
    fails = check(clean_corpus, loaded, "facesynthetics", faces)
    assert {f["row"] for f in fails} == {2}
    assert any("does not exist" in f["message"] for f in fails)
    assert any("does not match" in f["message"] for f in fails)


def test_schema_failures_are_table_level(clean_corpus, loaded):
    df = clean_corpus.manifests["tedlium"].drop(columns=["label_weight"])
    df["sample_rate"] = df["sample_rate"].astype("float64")
    fails = check(clean_corpus, loaded, "tedlium", df)
    assert fails and all(f["row"] is None for f in fails)
    text = " | ".join(f["message"] for f in fails)
    assert "missing columns ['label_weight']" in text
    assert "column sample_rate has dtype float64, expected Int64" in text
    assert "could not check" not in text  # rules on the missing column are skipped, not crashed


def test_params_drive_the_rules(clean_corpus, kit):
    cfg = clean_corpus.cfg(max_duration_s=0.9, sample_rate=8000)
    suite = suites.load(kit.EXPECTATIONS / "tedlium.json", suites.params_of(cfg))
    fails = suites.check(clean_corpus.manifests["tedlium"], suite, clean_corpus.roots["tedlium"])
    kinds = {(f["column"], f["row"]) for f in fails}
    assert {("duration_s", r) for r in range(3)} <= kinds
    assert {("sample_rate", r) for r in range(3)} <= kinds


def test_empty_manifest_fails(loaded):
    fails = suites.check(manifest.to_frame([]), loaded["iemocap"], None)
    assert [(f["row"], f["message"]) for f in fails] == [
        (None, "iemocap manifest: 0 rows, expected at least 1")]


def test_unknown_expectation_is_a_suite_error(clean_corpus, capfd):
    bad = {"name": "x", "expectations": [{"type": "expect_nonsense", "kwargs": {}}]}
    with pytest.raises(suites.SuiteError, match="expect_nonsense"):
        suites.check(clean_corpus.manifests["tedlium"], bad, None)
    assert "expect_nonsense" not in capfd.readouterr().err
