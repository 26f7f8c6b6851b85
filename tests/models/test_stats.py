import pytest
import torch
import yaml

from avemo.config import DEFAULT_PARAMS, ConfigError, parse
from avemo.features.audio import utterance_normalise
from avemo.models.batch import pad
from avemo.models.regressor import Regressor, from_config, takes_raw_input
from avemo.models.stats import UtteranceStats, masked_moments


def clips():
    torch.manual_seed(0)
    return [torch.randn(50, 16) * 2 - 3, torch.randn(80, 16)]


def test_normalised_input_equals_the_per_clip_front_end_and_padding_stays_zero():
    x, mask = pad(clips())
    xn, side = UtteranceStats(16, 8).eval()(x, mask)
    assert torch.allclose(xn[0, :50], utterance_normalise(clips()[0]), atol=1e-4)
    assert torch.allclose(xn[1], utterance_normalise(clips()[1]), atol=1e-4)
    assert xn[0, 50:].abs().max() == 0 and side.shape == (2, 8)


def test_masked_moments_ignore_padding():
    x, mask = pad(clips())
    mean, std = masked_moments(x, mask)
    assert torch.allclose(mean[0], clips()[0].mean(0), atol=1e-5)
    assert torch.allclose(std[0], clips()[0].std(0), atol=1e-5)


def test_level_reaches_the_model_only_through_the_statistics():
    """A gain (an offset in the log domain) leaves the encoder's input unchanged but moves the
    statistics, so a model with stats can tell a loud clip from a quiet one and one without cannot."""
    x, mask = pad(clips())
    louder = x + 2.0 * mask[..., None]
    with_stats = Regressor("audio_cnn", 16, 2, dim=16, stats=True).eval()
    plain = Regressor("audio_cnn", 16, 2, dim=16).eval()
    xn, s = with_stats.stats(x, mask)
    xn2, s2 = with_stats.stats(louder, mask)
    assert torch.allclose(xn, xn2, atol=1e-4) and not torch.allclose(s, s2)
    assert not torch.allclose(with_stats(x, mask)["clip"], with_stats(louder, mask)["clip"])
    normed = pad([utterance_normalise(c) for c in clips()])[0]
    normed_louder = pad([utterance_normalise(c + 2.0) for c in clips()])[0]
    assert torch.allclose(plain(normed, mask)["clip"], plain(normed_louder, mask)["clip"], atol=1e-4)


def test_a_batch_of_one_trains():
    model = Regressor("audio_cnn", 16, 2, dim=16, stats=True).train()
    x, mask = pad(clips()[:1])
    model(x, mask)["clip"].sum().backward()
    assert model.stats.proj[1].weight.grad is not None


def test_config_round_trip_and_raw_input():
    cfg = {"encoder": "audio_cnn", "n_inputs": 16, "dim": 16, "dropout": 0.1, "pooling": "mean", "stats": True}
    assert takes_raw_input(from_config(cfg, 2))
    assert not takes_raw_input(from_config({k: v for k, v in cfg.items() if k != "stats"}, 2))


def test_params_refuse_stats_without_utterance_normalisation():
    with open(DEFAULT_PARAMS) as f:
        raw = yaml.safe_load(f)
    raw["model"]["audio"]["stats"] = True
    raw["features"]["audio"]["normalise"] = "global"
    with pytest.raises(ConfigError, match="normalise: utterance"):
        parse(raw)
    raw["features"]["audio"]["normalise"] = "utterance"
    raw["model"]["visual"]["stats"] = True
    with pytest.raises(ConfigError, match="audio only"):
        parse(raw)
