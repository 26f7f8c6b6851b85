"""The pseudo-label quality report: what it scores, and what it leaves unscored."""

import numpy as np
import pandas as pd
import pytest

from avemo.pseudo import report


def test_a_set_too_small_to_score_is_left_unscored():
    rng = np.random.default_rng(0)
    n = 40
    truth = rng.uniform(-1, 1, n)
    df = pd.DataFrame({"arousal": truth + rng.normal(0, 0.1, n), "arousal_true": truth,
                       "valence": 0.0, "valence_true": truth, "labelled_arousal": True, "labelled_valence": False,
                       "selected": np.arange(n) >= report.MIN_SCORED - 1})  # one item short of scoring rejected
    out = report.labelled(df)
    assert out["dims"] == ["arousal"]  # valence carries no label: not scored
    assert out["selected_ccc"]["arousal"] > 0.9 and out["rejected_ccc"] == {"arousal": None}
    assert out["rejected_ccc_mean"] is None


def test_seed_mean_pairs_the_selected_and_rejected_of_the_same_seeds():
    runs = [{"selected": 0.4, "rejected": 0.2}, {"selected": 0.44, "rejected": None}, {"selected": 0.2, "rejected": 0.1}]
    out = report.seed_mean(runs)
    assert out == {"selected_ccc_mean": pytest.approx(0.3), "rejected_ccc_mean": pytest.approx(0.15), "seeds_scored": 2}
    assert report.seed_mean([{"selected": 0.4, "rejected": None}])["selected_ccc_mean"] is None


def test_without_hidden_truth_the_scores_are_null_with_the_reason(train_params, tmp_path):
    """Real unlabelled corpora carry no _truth/: coverage and distributions, no scores."""
    rng = np.random.default_rng(0)
    pseudo = pd.DataFrame({"clip_id": [f"{i:06d}" for i in range(30)], "corpus": "facesynthetics",
                           "valence": rng.uniform(-1, 1, 30), "arousal": rng.uniform(-1, 1, 30),
                           "uncertainty": rng.uniform(0, 1, 30), "selected": np.arange(30) % 3 == 0,
                           "teacher_version": "abc"})
    gold = pd.DataFrame({"valence": rng.uniform(-1, 1, 20), "arousal": rng.uniform(-1, 1, 20)})
    (tmp_path / "faces").mkdir()
    p = train_params.model_copy(update={"ingest": train_params.ingest.model_copy(
        update={"facesynthetics": str(tmp_path / "faces")})})
    q = report.quality(p, pseudo, gold)
    assert q["items"] == 30 and q["selected"] == 10 and q["coverage"] == pytest.approx(0.3333, abs=1e-4)
    assert q["selected_vs_truth"] is None and q["labelled"] is None and q["uncertainty_error_r"] is None
    assert q["truth"]["available"] is False and str(tmp_path / "faces") in q["truth"]["reason"]
    assert q["distribution"]["selected"]["n"] == 10
