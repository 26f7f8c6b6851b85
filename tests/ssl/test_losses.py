import math

import pytest
import torch

from avemo.ssl.losses import byol, info_nce, vicreg, vicreg_terms
from avemo.ssl.monitor import effective_rank, embedding_std


def test_info_nce_matches_hand_computation_2x2():
    z = torch.eye(2)
    # each anchor: positive cos 1, two negatives cos 0 (self excluded) -> -log(e / (e + 2))
    expected = math.log((math.e + 2) / math.e)
    assert float(info_nce(z, z.clone(), temperature=1.0)) == pytest.approx(expected, rel=1e-6)
    # temperature 0.5 doubles every logit
    expected_half = math.log((math.e**2 + 2) / math.e**2)
    assert float(info_nce(z, z.clone(), temperature=0.5)) == pytest.approx(expected_half, rel=1e-6)


def test_info_nce_low_for_identical_high_for_random_views():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(64, 32, generator=g)
    same = float(info_nce(z1, z1 * 3.0, temperature=0.1))  # scale does not matter
    rand = float(info_nce(z1, torch.randn(64, 32, generator=g), temperature=0.1))
    assert same < 0.5
    assert rand > math.log(2 * 64 - 1) - 1.0  # about chance: log(2N - 1)


def test_info_nce_is_symmetric_and_differentiable():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(8, 4, generator=g, requires_grad=True), torch.randn(8, 4, generator=g)
    loss = info_nce(z1, z2, 0.2)
    assert loss.item() == pytest.approx(info_nce(z2, z1.detach(), 0.2).item(), rel=1e-6)
    loss.backward()
    assert z1.grad is not None and torch.isfinite(z1.grad).all()
    with pytest.raises(ValueError):
        info_nce(z1, z2[:4], 0.2)


def test_vicreg_variance_term_large_for_collapsed_embeddings():
    g = torch.Generator().manual_seed(0)
    collapsed = torch.ones(32, 16) * 0.7
    inv, var, cov = vicreg_terms(collapsed, collapsed.clone())
    assert float(inv) == 0.0 and float(cov) == pytest.approx(0.0, abs=1e-8)
    assert float(var) > 1.9  # relu(1 - ~0) per branch, two branches
    spread = torch.randn(256, 16, generator=g) * 2
    _, var_ok, _ = vicreg_terms(spread, spread + 0.01 * torch.randn(256, 16, generator=g))
    assert float(var_ok) < 0.1
    assert float(vicreg(collapsed, collapsed)) > 25 * 1.9
    assert float(vicreg(collapsed, collapsed, var=0.0, cov=0.0)) == 0.0


def test_vicreg_covariance_penalises_correlated_dimensions():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(512, 1, generator=g)
    corr = a.repeat(1, 8)
    indep = torch.randn(512, 8, generator=g)
    assert float(vicreg_terms(corr, corr)[2]) > 10 * float(vicreg_terms(indep, indep)[2])


def test_byol_normalised_mse():
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert float(byol(p, p * 5)) == pytest.approx(0.0, abs=1e-6)
    assert float(byol(p, -p)) == pytest.approx(4.0)
    assert float(byol(p, p.flip(1))) == pytest.approx(2.0)  # orthogonal
    t = torch.randn(2, 2, requires_grad=True)
    byol(p.requires_grad_(), t).backward()
    assert t.grad is None  # the target gets no gradient


def test_monitor_collapsed_vs_random():
    g = torch.Generator().manual_seed(0)
    d = 64
    collapsed = torch.randn(1, d, generator=g).repeat(256, 1) + 1e-6 * torch.randn(256, d, generator=g)
    assert float(embedding_std(collapsed)) < 1e-3
    assert float(effective_rank(collapsed)) == pytest.approx(1.0, abs=0.05)
    rand = torch.randn(2048, d, generator=g)
    assert float(embedding_std(rand)) == pytest.approx(1 / math.sqrt(d), rel=0.05)
    assert float(effective_rank(rand)) > 0.9 * d
    low_rank = torch.randn(512, 4, generator=g) @ torch.randn(4, d, generator=g)
    assert float(effective_rank(low_rank)) < 4.5
