"""Fusions: a missing stream never contributes, and each falls back to the present stream."""

import pytest
import torch

from avemo.models import fused
from avemo.models.fusion import STREAMS, AttentionFusion, LateFusion, build

DIMS = {"audio": 8, "visual": 6}


def _inputs(batch=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for s, t in (("audio", 7), ("visual", 4)):
        mask = torch.ones(batch, t, dtype=torch.bool)
        mask[0, t // 2 :] = False
        out[s] = (torch.randn(batch, t, DIMS[s], generator=g), mask, torch.randn(batch, 2, generator=g))
    return out


def _present(audio: bool, visual: bool, batch=5):
    return torch.tensor([[audio, visual]]).expand(batch, -1)


def test_late_fusion_is_a_per_dimension_convex_mix_and_falls_back_to_the_present_stream():
    f = LateFusion(DIMS, 2)
    with torch.no_grad():
        f.logits.copy_(torch.tensor([[1.0, -1.0], [0.0, 2.0]]))
    x = _inputs()
    both = f(x, _present(True, True))
    w = f.weights()
    assert torch.allclose(w.sum(0), torch.ones(2))
    assert torch.allclose(both, w[0] * x["audio"][2] + w[1] * x["visual"][2], atol=1e-6)
    assert torch.allclose(f(x, _present(True, False)), x["audio"][2])
    assert torch.allclose(f(x, _present(False, True)), x["visual"][2])


def test_late_fusion_offsets_shift_each_stream_before_the_mix():
    f = LateFusion(DIMS, 2, offsets=True)
    with torch.no_grad():
        f.offsets.copy_(torch.tensor([[0.1, -0.2], [-0.3, 0.0]]))
    x = _inputs()
    w = f.weights()
    assert torch.allclose(f(x, _present(True, False)), x["audio"][2] + f.offsets[0], atol=1e-6)
    assert torch.allclose(f(x, _present(False, True)), x["visual"][2] + f.offsets[1], atol=1e-6)
    mix = w[0] * (x["audio"][2] + f.offsets[0]) + w[1] * (x["visual"][2] + f.offsets[1])
    assert torch.allclose(f(x, _present(True, True)), mix, atol=1e-6)


@pytest.mark.parametrize("missing", STREAMS)
def test_attention_fusion_ignores_a_missing_stream_whatever_its_inputs(missing):
    torch.manual_seed(0)
    f = AttentionFusion(DIMS, 2, dim=16, heads=2, dropout=0.0).eval()
    with torch.no_grad():  # a non-zero residual, so the pooled vectors matter
        f.residual[1].weight.normal_()
    present = _present(missing != "audio", missing != "visual")
    a, b = _inputs(seed=1), _inputs(seed=1)
    b[missing] = tuple(torch.full_like(t, 7.0) if t.is_floating_point() else t for t in b[missing])
    assert torch.allclose(f(a, present), f(b, present), atol=1e-6)
    # with both present, the other stream's frames do change the output (cross-modal attention)
    c = _inputs(seed=1)
    c[missing] = (c[missing][0] + 1.0, c[missing][1], c[missing][2])
    assert not torch.allclose(f(a, _present(True, True)), f(c, _present(True, True)))


def test_attention_fusion_starts_as_a_gate_over_the_streams_predictions():
    f = AttentionFusion(DIMS, 2, dim=16, heads=2).eval()
    x = _inputs()
    out = f(x, _present(True, True))
    lo = torch.minimum(x["audio"][2], x["visual"][2])
    hi = torch.maximum(x["audio"][2], x["visual"][2])
    assert ((out >= lo - 1e-6) & (out <= hi + 1e-6)).all()


def test_unknown_fusion_names_the_choices():
    with pytest.raises(KeyError, match="attention"):
        build("early", DIMS, 2)


def _config(name):
    stream = {"n_inputs": 16, "dim": 8, "dropout": 0.1, "pooling": "attention"}
    return {"targets": ["valence", "arousal"], "fusion": {"name": name, "kwargs": {"dim": 16, "heads": 2} if name == "attention" else {}},
            "streams": {"audio": {"encoder": "audio_cnn", **stream}, "visual": {"encoder": "visual_cnn", **stream}}}


@pytest.mark.parametrize("name", ["late", "attention"])
def test_fused_model_round_trips_through_safetensors(tmp_path, name):
    torch.manual_seed(0)
    model = fused.build(_config(name)).eval()
    audio = (torch.randn(3, 40, 16), torch.ones(3, 40, dtype=torch.bool))
    video = (torch.rand(3, 5, 24, 24), torch.ones(3, 5, dtype=torch.bool))
    fused.save(model, _config(name) | {"note": "kept"}, tmp_path)
    loaded, cfg = fused.load(tmp_path)
    assert cfg["note"] == "kept"
    with torch.no_grad():
        want, got = model(audio=audio, visual=video), loaded(audio=audio, visual=video)
        assert torch.equal(want["clip"], got["clip"])
        only = loaded(visual=video)
    # untrained (zero residual), either fusion with one stream is that stream's own prediction
    assert only["audio"] is None and torch.allclose(only["clip"], only["visual"], atol=1e-6)
    assert only["clip"].abs().max() <= 1.0


def test_fused_model_needs_a_stream_and_a_complete_folder(tmp_path):
    model = fused.build(_config("late"))
    with pytest.raises(ValueError, match="at least one stream"):
        model()
    with pytest.raises(FileNotFoundError, match="avemo fuse"):
        fused.load(tmp_path)
