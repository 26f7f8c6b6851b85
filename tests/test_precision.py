"""Mixed precision for every model and objective: a training step under ``bf16-mixed`` and
``16-mixed`` autocast gives finite losses and gradients. Lightning runs ``16-mixed`` as bf16
on a CPU, so fp16 autocast is driven directly here; on a GPU both run through the Trainer."""

import pytest
import torch

from avemo.fuse.train import FusionModule
from avemo.models.regressor import Regressor
from avemo.ssl.module import PretrainModule
from avemo.ssl.registry import OBJECTIVES
from avemo.train.losses import ccc_loss

DTYPES = [torch.bfloat16, torch.float16]


def _batch(stream: str, b: int = 6, t: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, t, 8, generator=g) if stream == "audio" else torch.rand(b, t, 24, 24, generator=g)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[0, t // 2:] = False  # a padded clip
    return x, mask


def _finite_grads(module: torch.nn.Module) -> bool:
    grads = [p.grad for p in module.parameters() if p.requires_grad and p.grad is not None]
    return bool(grads) and all(torch.isfinite(gr).all() for gr in grads)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("stream", "encoder"), [("audio", "audio_cnn"), ("visual", "visual_cnn")])
def test_stream_models_train_under_autocast(stream, encoder, dtype):
    torch.manual_seed(0)
    model = Regressor(encoder, 8 if stream == "audio" else 24, 2, dim=16)
    x, mask = _batch(stream)
    with torch.autocast("cpu", dtype=dtype):
        out = model(x, mask)
        loss = ccc_loss(out["clip"], torch.rand(len(x), 2) * 2 - 1)
    assert out["clip"].dtype in (dtype, torch.float32) and torch.isfinite(loss)
    loss.backward()
    assert _finite_grads(model)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
@pytest.mark.parametrize(("stream", "encoder"), [("audio", "audio_cnn"), ("visual", "visual_cnn")])
def test_every_objective_trains_under_autocast(stream, encoder, objective, dtype):
    torch.manual_seed(0)
    module = PretrainModule(encoder, 8 if stream == "audio" else 24, 16, objective)
    x, mask = _batch(stream)
    x2 = x + 0.1 * torch.randn_like(x)
    with torch.autocast("cpu", dtype=dtype):
        e1, e2 = module.embed(x, mask), module.embed(x2, mask)
        if module.target is not None:
            loss, _ = module.objective(e1, e2, module._target_embed(x, mask), module._target_embed(x2, mask))
        else:
            loss, _ = module.objective(e1, e2)
    assert torch.isfinite(loss)
    loss.backward()
    assert _finite_grads(module.encoder)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fusion", ["late", "attention"])
def test_fusions_train_under_autocast(fusion, dtype):
    torch.manual_seed(0)
    kw = {"dim": 16, "heads": 2} if fusion == "attention" else {}
    module = FusionModule(fusion, {"audio": 16, "visual": 16}, 2, kw)
    b, t = 6, 5
    inputs = {s: (torch.randn(b, t, 16), torch.ones(b, t, dtype=torch.bool), torch.rand(b, 2)) for s in ("audio", "visual")}
    present = torch.ones(b, 2, dtype=torch.bool)
    present[0, 1] = False
    with torch.autocast("cpu", dtype=dtype):
        loss = ccc_loss(module.fusion(inputs, present), torch.rand(b, 2))
    assert torch.isfinite(loss)
    loss.backward()
    assert _finite_grads(module.fusion)
