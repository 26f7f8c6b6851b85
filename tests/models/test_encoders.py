import pytest
import torch

from avemo.models.encoders import ENCODERS, build
from avemo.models.pooling import AttentionPool, MeanPool
from avemo.models.regressor import Regressor, bounded


def test_audio_encoder_shapes():
    enc = build("audio_cnn", n_inputs=64, dim=32, dropout=0.0)
    x, mask = torch.randn(3, 101, 64), torch.ones(3, 101, dtype=torch.bool)
    h, m = enc(x, mask)
    assert h.shape == (3, 26, 32) and m.shape == (3, 26)


def test_visual_encoder_shapes():
    enc = build("visual_cnn", n_inputs=48, dim=32, dropout=0.0)
    x, mask = torch.rand(2, 7, 48, 48), torch.ones(2, 7, dtype=torch.bool)
    h, m = enc(x, mask)
    assert h.shape == (2, 7, 32) and m.shape == (2, 7)


@pytest.mark.parametrize("name,shape", [("audio_cnn", (2, 80, 64)), ("visual_cnn", (2, 9, 32, 32))])
def test_regressor_clip_and_frame_outputs(name, shape):
    model = Regressor(name, shape[-1], n_targets=2, dim=32).eval()
    mask = torch.ones(shape[:2], dtype=torch.bool)
    mask[1, shape[1] // 2 :] = False
    out = model(torch.randn(shape) if name == "audio_cnn" else torch.rand(shape), mask)
    assert out["clip"].shape == (2, 2) and out["embedding"].shape == (2, 32)
    assert out["frames"].shape[:2] == out["frame_mask"].shape and out["frames"].shape[-1] == 2
    assert bounded(out["clip"] * 100).abs().max() <= 1


def test_padding_does_not_change_the_clip_output():
    torch.manual_seed(0)
    model = Regressor("audio_cnn", 16, 2, dim=16, dropout=0.0, pooling="mean").eval()
    x = torch.randn(1, 40, 16)
    short = model(x, torch.ones(1, 40, dtype=torch.bool))["clip"]
    padded = torch.cat([x, torch.randn(1, 24, 16)], 1)
    mask = torch.zeros(1, 64, dtype=torch.bool)
    mask[:, :40] = True
    long = model(padded, mask)["clip"]
    assert torch.allclose(short, long, atol=1e-5)


def test_pooling_ignores_masked_frames():
    h = torch.tensor([[[1.0], [3.0], [100.0]]])
    mask = torch.tensor([[True, True, False]])
    assert MeanPool(1)(h, mask).item() == pytest.approx(2.0)
    att = AttentionPool(2)
    h2 = torch.cat([h, h], -1)
    assert att(h2, mask).max().item() <= 3.0 + 1e-6


def test_registry_rejects_unknown_names():
    assert {"audio_cnn", "visual_cnn"} <= set(ENCODERS)
    with pytest.raises(KeyError, match="model"):
        build("resnet9000", 1, 8, 0.0)


def test_visual_encoder_weights_keep_their_names():
    """Released models and pretrained encoders load by key: reordering parameter-free layers
    (pool before ReLU) must not rename the weights."""
    from avemo.models.encoders import VisualCNN

    keys = {k.rsplit(".", 1)[0] for k in VisualCNN(0, dim=8).state_dict() if k.startswith("frame.")}
    assert keys == {"frame.0", "frame.1", "frame.4", "frame.5", "frame.8", "frame.9", "frame.15"}
