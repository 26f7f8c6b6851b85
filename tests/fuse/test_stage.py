"""The fuse stage on the synthetic store: fusion beats each stream, falls back when one is
missing, and saves a model the inference pipeline can load."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from avemo.features import store
from avemo.fuse import stage
from avemo.models import fused
from avemo.train import teacher
from avemo.train.data import transform_for


@pytest.fixture
def fused_params(train_params):
    p = train_params.model_copy(update={
        "train": train_params.train.model_copy(update={"max_epochs": 6}),
        "fuse": train_params.fuse.model_copy(update={
            "out_dir": str(Path(train_params.teacher.out_dir).parent / "fusion"),
            "sources": {"audio": "teacher", "visual": "teacher"},
            "attention": train_params.fuse.attention.model_copy(update={"max_epochs": 4, "dim": 16, "heads": 2})})})
    teacher.run(p, progress=False)
    return p


def test_fusion_beats_each_stream_and_falls_back_to_the_present_one(fused_params):
    p = fused_params
    results = stage.run(p, progress=False)
    single = {s: json.loads((Path(p.teacher.out_dir) / s / "config.json").read_text())["scores"]["test"]
              for s in ("audio", "visual")}
    late = results["late"]
    assert late["test"]["ccc_mean"] > max(s["ccc_mean"] for s in single.values()) + 0.05
    # with one stream missing, late fusion is that stream's model shifted by its validation offsets
    assert late["modes"]["audio_only"]["ccc_mean"] == pytest.approx(single["audio"]["ccc_mean"], abs=0.02)
    assert late["modes"]["video_only"]["ccc_mean"] == pytest.approx(single["visual"]["ccc_mean"], abs=0.02)
    assert set(results["attention"]["modes"]) == {"audio_visual", "audio_only", "video_only", "noisy_audio", "noisy_video"}
    assert results["attention"]["test"]["ccc_mean"] > 0.3
    assert late["modes"]["noisy_audio"]["ccc_arousal"] < late["test"]["ccc_arousal"]


def test_saved_fused_model_reproduces_the_stage_predictions(fused_params):
    p = fused_params.model_copy(update={"fuse": fused_params.fuse.model_copy(update={"methods": ["late"]})})
    stage.run(p, progress=False)
    run_dir = Path(p.fuse.out_dir) / "late"
    model, cfg = fused.load(run_dir)
    train = store.read(p.features.out_dir, "iemocap", "train")
    fps = [len(train.get("video", i)) / d for i, d in enumerate(train.index["duration_s"])]
    assert cfg["video_frame_rate"] == pytest.approx(np.median(fps) / p.train.video_frame_step)
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    modes = pd.read_parquet(run_dir / "modes.parquet")
    assert set(modes["mode"]) == {"audio_visual", "audio_only", "video_only", "noisy_audio", "noisy_video"}
    split = store.read(p.features.out_dir, "iemocap", "test")
    (pa, qa), (pv, qv) = (transform_for(s, p.features.out_dir, p.features.audio.normalise, p.train.video_frame_step)
                          for s in ("audio", "visual"))
    a, v = qa(pa(split.get("audio", 0))), qv(pv(split.get("video", 0)))
    with torch.no_grad():
        out = model(audio=(a[None], torch.ones(1, len(a), dtype=torch.bool)),
                    visual=(v[None], torch.ones(1, len(v), dtype=torch.bool)))["clip"][0].numpy()
    row = preds[(preds["split"] == "test") & (preds["clip_id"] == split.index["clip_id"][0])]
    np.testing.assert_allclose(out, row[["pred_valence", "pred_arousal"]].to_numpy()[0], atol=1e-5)


def test_best_source_is_the_higher_validation_score_and_missing_models_fail_clearly(fused_params, tmp_path):
    p = fused_params
    dirs = stage.sources(p.model_copy(update={"fuse": p.fuse.model_copy(update={"sources": {"audio": "best", "visual": "best"}})}))
    assert dirs["audio"] == Path(p.teacher.out_dir) / "audio"  # no student trained: the teacher
    q = p.model_copy(update={"fuse": p.fuse.model_copy(update={"sources": {"audio": "student", "visual": "teacher"}})})
    with pytest.raises(FileNotFoundError, match="avemo student"):
        stage.sources(q)
