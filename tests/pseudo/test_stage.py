"""The pseudo_label stage and its quality report on the synthetic store."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from avemo.models import regressor
from avemo.pseudo import infer, report, stage


def test_artifacts_hold_every_item_with_uncertainty_selection_and_teacher_version(taught):
    frames = stage.run(taught)
    for stream, n in (("audio", 48), ("visual", 80)):
        df = pd.read_parquet(Path(taught.pseudo.out_dir) / f"{stream}.parquet")
        assert len(df) == n
        pd.testing.assert_frame_equal(df, frames[stream])
        assert {"clip_id", "valence", "arousal", "uncertainty", "confidence", "selected", "teacher_version"} <= set(df)
        assert df["selected"].sum() == round(taught.pseudo.select.fraction * n)
        assert (df["uncertainty"] > 0).all()  # MC dropout: the passes disagree
        weights = Path(taught.teacher.out_dir) / stream / "model.safetensors"
        assert df["teacher_version"].iloc[0] == hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    cap = np.ceil(taught.pseudo.select.max_group_share * frames["audio"]["selected"].sum())
    assert frames["audio"].groupby("group")["selected"].sum().max() <= cap
    again = stage.label(taught, "audio", Path(taught.teacher.out_dir) / "audio")
    pd.testing.assert_frame_equal(again, frames["audio"])  # seeded: the same labels every run


def test_quality_report_scores_selected_and_rejected_against_the_truth(taught):
    frames = stage.run(taught)
    figures = report.run(taught, frames)
    for _stream, q in figures.items():
        assert q["coverage"] == pytest.approx(0.5, abs=0.01)
        assert {"ccc_valence", "ccc_arousal", "ccc_mean"} <= set(q["selected_vs_truth"])
        assert {"ccc_valence", "ccc_arousal", "ccc_mean"} <= set(q["rejected_vs_truth"])
        assert q["distribution"]["selected"]["n"] == q["selected"]
        assert sum(q["distribution"]["gold"]["cells"]) == pytest.approx(1.0, abs=1e-3)
    # the planted cue is learnt, so the pseudo-labels agree with the truth on the strong dimension
    assert figures["audio"]["all_vs_truth"]["ccc_arousal"] > 0.5
    assert figures["visual"]["all_vs_truth"]["ccc_valence"] > 0.5
    report.write(taught, figures)
    report.write(taught, {"label_efficiency": {"10": {}}})  # the experiment's table joins, nothing lost
    saved = json.loads(Path(taught.pseudo.report).read_text())
    assert set(saved) == {"audio", "visual", "label_efficiency"}


def test_one_pass_is_the_deterministic_prediction(taught):
    from avemo.features import store

    model, _ = regressor.load(Path(taught.teacher.out_dir) / "audio")
    data = store.read(taught.features.out_dir, "tedlium", "unlabelled")
    args = (model, data, "audio", taught.features.out_dir, "global", 1)
    mean1, std1 = infer.mc_dropout(*args, passes=1, seed=0)
    mean2, _ = infer.mc_dropout(*args, passes=1, seed=5)
    assert (std1 == 0).all() and np.array_equal(mean1, mean2)
    assert not model.training  # left in eval mode


def test_test_time_augmentation_is_seeded_and_widens_the_spread(taught):
    from avemo.features import store

    model, _ = regressor.load(Path(taught.teacher.out_dir) / "audio")
    data = store.read(taught.features.out_dir, "tedlium", "unlabelled")
    before = data.get("audio", 0).clone()
    args = (model, data, "audio", taught.features.out_dir, "global", 1)
    _, std_mc = infer.mc_dropout(*args, passes=5, seed=0)
    mean1, std1 = infer.mc_dropout(*args, passes=5, seed=0, tta=taught.augment)
    mean2, std2 = infer.mc_dropout(*args, passes=5, seed=0, tta=taught.augment)
    assert np.array_equal(mean1, mean2) and np.array_equal(std1, std2)  # seeded: a rerun is identical
    assert std1.mean() > std_mc.mean()  # noise, level and masks move the prediction as well
    clean, _ = infer.mc_dropout(*args, passes=1, seed=0)
    augmented, spread = infer.mc_dropout(*args, passes=1, seed=0, tta=taught.augment)
    assert (spread == 0).all() and not np.allclose(clean, augmented)
    assert torch.equal(data.get("audio", 0), before)  # the store is never modified
    on = stage.label(taught, "audio", Path(taught.teacher.out_dir) / "audio")
    off = stage.label(taught.model_copy(update={"pseudo": taught.pseudo.model_copy(update={"tta": []})}),
                      "audio", Path(taught.teacher.out_dir) / "audio")
    assert taught.pseudo.tta == ["audio"] and on["uncertainty"].mean() > off["uncertainty"].mean()


def test_a_dimension_pinned_by_domain_shift_is_not_labelled(tmp_path):
    pd.DataFrame({"split": ["val"] * 4, "pred_valence": [-0.5, 0.0, 0.5, 0.2],
                  "pred_arousal": [-0.5, 0.0, 0.5, 0.2]}).to_parquet(tmp_path / "predictions.parquet")
    pred = np.c_[np.linspace(-0.6, 0.6, 10), np.full(10, 0.99) + np.linspace(0, 0.01, 10)]
    assert stage.transfers(pred, tmp_path, min_spread=0.25) == [True, False]


def test_missing_teacher_says_what_to_run(train_params):
    with pytest.raises(FileNotFoundError, match="avemo teacher"):
        stage.run(train_params)


def test_truth_of_an_unknown_corpus_is_refused(train_params):
    with pytest.raises(ValueError, match="no hidden truth"):
        report.truth(train_params, "msp_podcast")


def test_withheld_audio_visual_clips_are_labelled_by_the_better_teacher_per_dimension(taught):
    """Cross-modal distillation: on the paired (withheld gold) clips each dimension comes from
    the stream teacher with the higher validation CCC on it; the unlabelled corpus, which has
    one stream only, stays with the stream's own teacher."""
    from avemo.features import store

    dirs = {s: Path(taught.teacher.out_dir) / s for s in ("audio", "visual")}
    val = {s: regressor.load(d)[1]["scores"]["val"] for s, d in dirs.items()}
    withheld = [0, 3, 5, 8, 13]
    df = stage.label(taught, "audio", dirs["audio"], withheld=withheld, partners={"visual": dirs["visual"]})
    paired, own = df[df["corpus"] == "iemocap"], df[df["corpus"] != "iemocap"]
    assert list(paired["row"]) == withheld
    for d in ("valence", "arousal"):
        best = max(val, key=lambda s: val[s][f"ccc_{d}"])
        assert set(paired[f"labeller_{d}"]) == {best} and set(own[f"labeller_{d}"]) == {"audio"}
        if best == "visual":
            model, _ = regressor.load(dirs["visual"])
            mean, _ = infer.mc_dropout(model, store.read(taught.features.out_dir, "iemocap", "train"), "visual",
                                       taught.features.out_dir, "global", taught.train.video_frame_step,
                                       taught.pseudo.passes, taught.pseudo.seed, rows=withheld)
            assert np.allclose(paired[d], mean[:, ["valence", "arousal"].index(d)], atol=1e-5)
    assert {"audio", "visual"} == set(paired[["labeller_valence", "labeller_arousal"]].to_numpy().ravel())
    assert df["teacher_version_visual"].iloc[0] == infer.version(dirs["visual"])
    alone = taught.model_copy(update={"pseudo": taught.pseudo.model_copy(update={"cross_modal": False})})
    solo = stage.label(alone, "audio", dirs["audio"], withheld=withheld, partners={"visual": dirs["visual"]})
    assert set(solo[["labeller_valence", "labeller_arousal"]].to_numpy().ravel()) == {"audio"}
