import pandas as pd
import pytest
import torch

from avemo.config import AugmentConfig
from avemo.features.store import Split, pack
from avemo.ssl import views as views_mod
from avemo.ssl.byol import BYOL
from avemo.ssl.data import TwoViewDataset, collate_pairs
from avemo.ssl.registry import OBJECTIVES, build
from avemo.ssl.views import AudioViews, FaceViews


def test_registry_builds_each_objective_and_rejects_unknown_names():
    assert {"simclr", "vicreg", "byol"} <= set(OBJECTIVES)
    for name in OBJECTIVES:
        assert isinstance(build(name, 16), OBJECTIVES[name])
    with pytest.raises(KeyError, match="ssl.<stream>.objective"):
        build("barlow", 16)
    assert build("simclr", 16, temperature=0.5).temperature == 0.5


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_objective_forward_gives_finite_loss_and_gradients(name):
    torch.manual_seed(0)
    obj = build(name, 16)
    e1 = torch.randn(8, 16, requires_grad=True)
    e2 = e1.detach() + 0.1 * torch.randn(8, 16)
    loss, logs = obj(e1, e2)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert "proj_std" in logs and all(torch.isfinite(v) for v in logs.values())
    loss.backward()
    assert e1.grad is not None and e1.grad.abs().sum() > 0


def test_byol_target_is_an_ema_of_the_online_projector():
    obj = BYOL(8, proj_dim=4, hidden=8, tau=0.5, tau_final=0.5)
    with torch.no_grad():
        for p in obj.projector.parameters():
            p.add_(1.0)
    before = [p.clone() for p in obj.target_projector.parameters()]
    obj.update_target(0.0)
    for b, t, o in zip(before, obj.target_projector.parameters(), obj.projector.parameters(), strict=True):
        torch.testing.assert_close(t, 0.5 * b + 0.5 * o)
    assert not any(p.requires_grad for p in obj.target_projector.parameters())


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_audio_views_deterministic_and_different():
    cfg = AugmentConfig()
    x = torch.randn(300, 64) - 5.0  # a log-mel on the stored (natural-log power) scale
    views = views_mod.build("audio", cfg, crop_frames=100)
    a1, a2 = views(x, _gen(3))
    b1, b2 = views(x, _gen(3))
    torch.testing.assert_close(a1, b1)
    torch.testing.assert_close(a2, b2)
    assert a1.shape == a2.shape == (100, 64)
    assert not torch.allclose(a1, a2)
    c1, _ = views(x, _gen(4))
    assert not torch.allclose(a1, c1)
    # without augmentation the two views are two crops at different offsets of the same segment
    plain1, plain2 = AudioViews(100)(x, _gen(0))
    starts = [int((x[:, 0] == v[0, 0]).nonzero()[0]) for v in (plain1, plain2)]
    assert starts[0] != starts[1]
    torch.testing.assert_close(plain1, x[starts[0] : starts[0] + 100])
    short = torch.randn(40, 64)
    assert AudioViews(100)(short, _gen(0))[0].shape == (40, 64)


def test_face_views_deterministic_different_and_in_range():
    g = _gen(0)
    x = torch.rand(1, 48, 48, generator=g)
    views = views_mod.build("visual", AugmentConfig())
    a1, a2 = views(x, _gen(7))
    b1, b2 = views(x, _gen(7))
    torch.testing.assert_close(a1, b1)
    torch.testing.assert_close(a2, b2)
    assert a1.shape == x.shape and a1.dtype == torch.float32
    assert not torch.allclose(a1, a2)
    assert float(a1.min()) >= 0 and float(a1.max()) <= 1
    # the crop alone (no FaceAugment) with scale 1 and no translation is the identity
    same, _ = FaceViews(None, scale=(1.0, 1.0), translate=0.0)(x, _gen(0))
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    zoom, _ = FaceViews(None, scale=(0.5, 0.5), translate=0.0)(x, _gen(0))
    assert not torch.allclose(zoom, x)
    with pytest.raises(KeyError):
        views_mod.build("text")


def _split(stream: str) -> Split:
    g = _gen(0)
    if stream == "audio":
        seqs = [torch.randn(n, 8, generator=g).numpy() - 5 for n in (30, 50, 70)]
        data, off = pack(seqs, torch.float16)
    else:
        seqs = [torch.randint(0, 256, (1, 48, 48), generator=g, dtype=torch.uint8).numpy() for _ in range(3)]
        data, off = pack(seqs, torch.uint8)
    key = "audio" if stream == "audio" else "video"
    return Split(index=pd.DataFrame({"clip_id": ["a", "b", "c"]}), tensors={key: data, f"{key}_offsets": off})


@pytest.mark.parametrize("stream", ["audio", "visual"])
def test_two_view_dataset_and_collate(stream):
    views = views_mod.build(stream, AugmentConfig(), crop_frames=40)
    ds = TwoViewDataset(_split(stream), stream, views, seed=1)
    v1, v2, i = ds[1]
    w1, w2, _ = ds[1]
    torch.testing.assert_close(v1, w1)
    torch.testing.assert_close(v2, w2)
    assert i == 1 and not torch.allclose(v1, v2)
    ds.epoch = 1
    assert not torch.allclose(ds[1][0], v1)  # new epoch, new views
    b = collate_pairs([ds[k] for k in range(3)])
    assert set(b) == {"x1", "m1", "x2", "m2", "index"}
    assert b["x1"].shape[:2] == b["m1"].shape and b["x2"].shape[:2] == b["m2"].shape
    if stream == "audio":
        assert b["m1"].sum(1).tolist() == [30, 40, 40]
        assert b["x1"].shape[-1] == 8
    else:
        assert b["x1"].shape == (3, 1, 48, 48) and b["m1"].all()
    with pytest.raises(ValueError, match="no 'video'"):
        TwoViewDataset(_split("audio"), "visual", views, seed=0)
