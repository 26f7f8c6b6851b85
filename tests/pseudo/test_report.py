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
