import pandas as pd
import pytest

from avemo.train.data import label_subset


def _index(n_per_speaker: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"speaker": [s for s, n in n_per_speaker.items() for _ in range(n)]})


def test_label_subset_keeps_a_fraction_of_every_speaker():
    idx = _index({"a": 40, "b": 20, "c": 3})
    rows = label_subset(idx, 0.1, seed=1)
    per = idx.iloc[rows]["speaker"].value_counts().to_dict()
    assert per == {"a": 4, "b": 2, "c": 1}  # at least one clip per speaker
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    assert label_subset(idx, 0.1, seed=1) == rows  # seeded
    assert label_subset(idx, 0.1, seed=2) != rows
    assert label_subset(idx, 1.0, seed=1) == list(range(len(idx)))


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_label_subset_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="fraction"):
        label_subset(_index({"a": 3}), fraction, seed=0)
