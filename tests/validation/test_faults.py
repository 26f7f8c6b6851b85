"""The validation fault catalogue: broken signals that decode fine as containers. Each fault is
one entry of FAULTS: a function that breaks a fresh copy of the clean corpus and returns the
clip or file a failure must name, and the probe check that must catch it. To add a fault kind,
add an entry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avemo.validation import run as stage

D1 = "Ses01F_impro01"


def _iemocap_wav(c, clip: str) -> Path:
    df = c.manifests["iemocap"]
    return Path(c.roots["iemocap"]) / df.loc[df["clip_id"] == clip, "audio_path"].iloc[0]


def nan_samples(c, kit):
    x = kit.noise(0.5)
    x[100:500] = np.nan
    sf.write(_iemocap_wav(c, f"{D1}_F000"), x, kit.SR, subtype="FLOAT")
    return f"{D1}_F000"


def inf_samples(c, kit):
    x = kit.noise(0.5)
    x[7] = np.inf
    sf.write(_iemocap_wav(c, f"{D1}_M001"), x, kit.SR, subtype="FLOAT")
    return f"{D1}_M001"


def digital_silence(c, kit):
    sf.write(_iemocap_wav(c, f"{D1}_F002"), np.zeros(8000, np.float32), kit.SR, subtype="PCM_16")
    return f"{D1}_F002"


def near_silence(c, kit):
    sf.write(_iemocap_wav(c, f"{D1}_M003"), kit.noise(0.5) * 1e-4, kit.SR, subtype="PCM_16")  # about -80 dBFS
    return f"{D1}_M003"


def shorter_than_annotation(c, kit):
    clip = f"{D1}_F004"
    sf.write(_iemocap_wav(c, clip), kit.noise(0.05), kit.SR, subtype="PCM_16")
    df = c.manifests["iemocap"]
    row = df.index[df["clip_id"] == clip][0]
    df.loc[row, "end_s"] = df.loc[row, "start_s"] + 3.38  # the annotation says 3.38 s
    df.loc[row, "duration_s"] = 3.38
    c.save()
    return clip


def segment_past_the_end(c, kit):
    df = c.manifests["tedlium"]
    df.loc[2, "end_s"] = 11.0  # the talk's audio lasts 3 s
    df.loc[2, "duration_s"] = 9.0
    c.save()
    return str(df.loc[2, "clip_id"])


def landmarks_68(c, kit):
    (Path(c.roots["facesynthetics"]) / "000000_ldmks.txt").write_text("1.0 2.0\n" * 68)
    return "000000.png"


def landmarks_non_finite(c, kit):
    lines = ["1.0 2.0\n"] * 70
    lines[30] = "nan 2.0\n"
    (Path(c.roots["facesynthetics"]) / "000002_ldmks.txt").write_text("".join(lines))
    return "000002.png"


FAULTS = {  # name -> (break, check that catches it)
    "nan_samples": (nan_samples, "finite"),
    "inf_samples": (inf_samples, "finite"),
    "digital_silence": (digital_silence, "not_silent"),
    "near_silence": (near_silence, "not_silent"),
    "shorter_than_annotation": (shorter_than_annotation, "duration"),
    "segment_past_the_end": (segment_past_the_end, "segment_inside"),
    "landmarks_68": (landmarks_68, "landmarks"),
    "landmarks_non_finite": (landmarks_non_finite, "landmarks"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_caught_naming_it_and_only_its_rows_are_dropped(fault, clean_corpus, tmp_path, kit):
    c = kit.fresh_copy(clean_corpus, tmp_path)
    breaker, check = FAULTS[fault]
    named = breaker(c, kit)
    result = stage.run(c.cfg(on_error="quarantine"), c.roots)
    hits = [f for f in result.report["failures"] if f.get("check") == check]
    assert len(hits) == 1, result.report["failures"]
    assert named in hits[0]["message"] or named in hits[0]["clip_ids"] or named == hits[0]["path"]
    assert not result.success
    dropped = set(result.quarantine["clip_id"])
    kept = {c_: set(df["clip_id"]) for c_, df in result.clean.items()}
    corpus = hits[0]["corpus"]
    assert dropped and not dropped & kept[corpus]
    if check == "segment_inside":  # one segment of the talk, not the whole talk
        assert dropped == {named} and len(kept["tedlium"]) == 2


def test_the_clean_corpus_passes_every_signal_check(clean_corpus, kit):
    assert stage.run(clean_corpus.cfg(), clean_corpus.roots).success


def test_thresholds_come_from_params(clean_corpus, tmp_path, kit):
    c = kit.fresh_copy(clean_corpus, tmp_path)
    near_silence(c, kit)
    assert not stage.run(c.cfg(), c.roots).success
    assert stage.run(c.cfg(silence_dbfs=-100.0), c.roots).success
    shorter = kit.fresh_copy(clean_corpus, tmp_path / "short")
    shorter_than_annotation(shorter, kit)
    assert stage.run(shorter.cfg(duration_tolerance_s=4.0), shorter.roots).success


def test_quarantine_never_turns_a_failed_ingest_into_success(clean_corpus, tmp_path, kit):
    c = kit.fresh_copy(clean_corpus, tmp_path)
    for f in c.manifests_dir.glob("*.parquet"):
        f.unlink()
    cfg = c.cfg(on_error="quarantine")
    result = stage.run(cfg, c.roots)
    assert result.report["unreadable"] == ["facesynthetics", "iemocap", "tedlium"]
    with pytest.raises(stage.ValidationFailed):
        stage.write(result, cfg)
    assert not Path(cfg.out_dir).exists()
    assert json.loads(Path(cfg.report).read_text())["success"] is False and Path(cfg.report_md).is_file()
