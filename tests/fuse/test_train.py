"""Late fusion's fit on validation: stream weights and, with offsets, each stream's bias."""

import torch

from avemo.config import LateFusionConfig
from avemo.fuse.data import StreamCache, collate_cache
from avemo.fuse.train import _offset_response, fit_late, fit_offsets
from avemo.models.fusion import STREAMS, AttentionFusion, LateFusion


def _val(n=200, seed=0):
    """Targets in (-0.6, 0.6); audio reads them with noise, video exactly but 0.3 too high."""
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(n, 2, generator=g) * 1.2 - 0.6
    preds = {"audio": y + 0.3 * torch.randn(n, 2, generator=g), "visual": y + 0.3}
    hidden = {s: [torch.zeros(3, 4)] * n for s in STREAMS}
    return StreamCache(hidden, preds, y), y


def test_late_fusion_offsets_correct_a_biased_stream_and_the_correction_holds_alone():
    val, y = _val()
    dims = {s: 4 for s in STREAMS}
    plain = fit_late(LateFusion(dims, 2), val, LateFusionConfig())
    fitted = fit_late(LateFusion(dims, 2, offsets=True), val, LateFusionConfig())
    assert torch.allclose(fitted.offsets[1].detach(), torch.full((2,), -0.3), atol=0.03)
    assert fitted.weights()[1].min() > 0.9  # the corrected exact stream carries the fusion
    h = torch.zeros(len(y), 3, 4)
    mask = torch.ones(len(y), 3, dtype=torch.bool)
    inputs = {s: (h, mask, val.preds[s]) for s in STREAMS}
    video_only = torch.tensor([[False, True]]).expand(len(y), -1)
    with torch.no_grad():
        assert (fitted(inputs, video_only) - y).abs().max() < 0.03
        assert (plain(inputs, video_only) - y).abs().mean() > 0.25  # without offsets the bias stays


def test_fit_offsets_moves_only_the_offsets_of_a_trained_attention_fusion():
    val, _ = _val(n=64)
    torch.manual_seed(0)
    f = AttentionFusion({s: 4 for s in STREAMS}, 2, dim=8, heads=2, offsets=True)
    before = {k: v.clone() for k, v in f.state_dict().items() if k != "offsets"}
    fit_offsets(f, val, LateFusionConfig(steps=100))
    assert not f.training
    assert all(torch.equal(before[k], v) for k, v in f.state_dict().items() if k != "offsets")
    assert f.offsets[1].mean() < -0.1  # the video stream reads 0.3 too high: its offset goes down


def test_the_attention_fusion_output_is_linear_in_its_offsets():
    val, _ = _val(n=16)
    torch.manual_seed(0)
    f = AttentionFusion({s: 4 for s in STREAMS}, 2, dim=8, heads=2, offsets=True).eval()
    batch = collate_cache([val[i] for i in range(len(val))])
    inputs = {s: batch[s] for s in STREAMS}
    present = torch.tensor([[True, False]] * 8 + [[True, True]] * 8)
    base, slopes = _offset_response(f, inputs, present)
    with torch.no_grad():
        f.offsets.copy_(torch.tensor([[0.2, -0.1], [0.5, 0.3]]))
        assert torch.allclose(f(inputs, present), base + (slopes * f.offsets).sum(1), atol=1e-5)
    assert torch.equal(slopes[:8, 1], torch.zeros(8, 2))  # an absent stream's offset does nothing
