import numpy as np
import pytest
import torch
from torchmetrics.functional import concordance_corrcoef

from avemo.train.losses import ccc, ccc_loss


def _textbook(x: np.ndarray, y: np.ndarray) -> float:
    """Lin (1989): 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2), population moments."""
    sxy = np.mean((x - x.mean()) * (y - y.mean()))
    return 2 * sxy / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


def test_perfect_prediction_has_zero_loss():
    y = torch.rand(50, 2) * 2 - 1
    assert ccc_loss(y.clone(), y).item() < 1e-6


def test_agrees_with_textbook_formula():
    rng = np.random.default_rng(0)
    y = rng.uniform(-1, 1, (200, 3))
    p = 0.6 * y + rng.normal(0, 0.3, y.shape) + 0.1
    got = ccc(torch.tensor(p), torch.tensor(y)).numpy()
    want = [_textbook(p[:, k], y[:, k]) for k in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("shape", [(200,), (200, 3), (7, 2)])
def test_ddof1_equals_torchmetrics(shape):
    rng = np.random.default_rng(3)
    y = torch.tensor(rng.uniform(-1, 1, shape))
    p = 0.6 * y + torch.tensor(rng.normal(0.2, 0.3, shape))
    want = concordance_corrcoef(p, y)
    got = ccc(p.reshape(shape[0], -1), y.reshape(shape[0], -1), ddof=1)
    torch.testing.assert_close(got, want.reshape(-1), rtol=1e-7, atol=1e-7)
    # equal weights of any scale are the unweighted case
    torch.testing.assert_close(ccc(p.reshape(shape[0], -1), y.reshape(shape[0], -1), torch.full((shape[0],), 3.0),
                                   ddof=1), got)


def test_ddof_conventions_on_a_hand_computed_example():
    # means 2 and 3; sample moments var = cov = 1: 2 / (1 + 1 + 1) = 2/3; population: (4/3) / (7/3) = 4/7
    x, y = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64), torch.tensor([[2.0], [3.0], [4.0]],
                                                                                 dtype=torch.float64)
    assert ccc(x, y, ddof=1).item() == pytest.approx(2 / 3)
    assert ccc(x, y).item() == pytest.approx(4 / 7)
    with pytest.raises(ValueError, match="ddof"):
        ccc(x, y, ddof=2)


def test_ccc_penalises_bias_and_scale_unlike_pearson():
    y = torch.linspace(-1, 1, 100)[:, None]
    assert ccc(y * 0.5, y).item() < 0.9  # perfectly correlated, wrong scale
    assert ccc(y + 0.5, y).item() < 0.9  # perfectly correlated, shifted
    assert ccc(-y, y).item() < -0.99


def test_weights_ignore_zero_weight_rows():
    y = torch.rand(40, 2)
    p = y.clone()
    p[:10] = torch.rand(10, 2)  # garbage on the first rows ...
    w = torch.ones(40)
    w[:10] = 0  # ... which carry no weight
    assert ccc_loss(p, y, w).item() < 1e-5
    assert ccc_loss(p, y).item() > 1e-3


def test_loss_has_gradients():
    p = torch.zeros(8, 2, requires_grad=True)
    ccc_loss(p + torch.randn(8, 2) * 0.1, torch.randn(8, 2)).backward()
    assert p.grad is not None and torch.isfinite(p.grad).all()


def test_per_target_weights_drop_a_target_for_some_rows_only():
    from avemo.train.losses import ccc

    torch.manual_seed(1)
    pred, true = torch.randn(20, 2), torch.randn(20, 2)
    w = torch.ones(20, 2)
    w[10:, 1] = 0  # rows 10.. have no label for the second target
    got = ccc(pred, true, w)
    assert torch.allclose(got[0], ccc(pred[:, :1], true[:, :1])[0])
    assert torch.allclose(got[1], ccc(pred[:10, 1:], true[:10, 1:])[0])
    assert torch.allclose(ccc(pred, true, torch.ones(20)), ccc(pred, true, torch.ones(20, 2)))
    assert torch.allclose(ccc(pred, true, w, ddof=1)[1], ccc(pred[:10, 1:], true[:10, 1:], ddof=1)[0])
