"""The evaluate stage's oracle: the hidden latent, or the latent as each speaker shows it,
scored against the gold labels of the test clips."""

import pandas as pd
import pytest

from avemo.evaluate.stage import oracle


@pytest.fixture
def corpus(train_params, tmp_path):
    truth = pd.DataFrame({"clip_id": ["a", "b", "c", "d"], "valence": [-0.5, 0.0, 0.5, 0.9],
                          "arousal": [0.4, -0.4, 0.2, -0.2], "expressiveness": [0.5, 0.5, 1.5, 1.5]})
    (tmp_path / "iem" / "_truth").mkdir(parents=True)
    truth.to_csv(tmp_path / "iem" / "_truth" / "utterances.csv", index=False)
    (tmp_path / "validated").mkdir()
    truth.drop(columns="expressiveness").to_parquet(tmp_path / "validated" / "iemocap.parquet")  # gold = latent
    return train_params.model_copy(update={
        "ingest": train_params.ingest.model_copy(update={"iemocap": str(tmp_path / "iem")}),
        "validate_": train_params.validate_.model_copy(update={"out_dir": str(tmp_path / "validated")})})


def test_latent_equal_to_gold_is_a_perfect_oracle(corpus):
    assert oracle(corpus, pd.Series(["a", "b", "c", "d"]))["ccc_mean"] == pytest.approx(1.0)


def test_shown_latent_loses_what_expressiveness_hides(corpus):
    shown = oracle(corpus, pd.Series(["a", "b", "c", "d"]), shown=True)
    assert shown["ccc_mean"] < 0.95  # halved for two speakers, 1.5x (clipped at 1) for the others
    assert shown["rmse_mean"] > 0.1


def test_a_corpus_without_hidden_truth_has_no_oracle(corpus, tmp_path):
    """A real corpus (no _truth/): None, not a crash."""
    real = corpus.model_copy(update={"ingest": corpus.ingest.model_copy(update={"iemocap": str(tmp_path / "real")})})
    (tmp_path / "real").mkdir()
    assert oracle(real, pd.Series(["a", "b"])) is None
    assert oracle(real, pd.Series(["a", "b"]), shown=True) is None
