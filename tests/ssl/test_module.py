import logging
import math
import warnings

import pytest
import pytorch_lightning as pl
import torch
from safetensors.torch import load_file
from torch.utils.data import DataLoader, Dataset

from avemo.models.encoders import build as build_encoder
from avemo.ssl.data import collate_pairs
from avemo.ssl.module import PretrainModule

D = 16


class TinyPairs(Dataset):
    """64 random 8-channel sequences; a view is a random 16-frame crop plus noise."""

    def __init__(self, n: int = 64, t: int = 24, f: int = 8):
        self.x = torch.randn(n, t, f, generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        g = torch.Generator().manual_seed(i)

        def view():
            o = int(torch.randint(0, self.x.shape[1] - 16 + 1, (), generator=g))
            return self.x[i, o : o + 16] + 0.3 * torch.randn(16, self.x.shape[2], generator=g)

        return view(), view(), i


def _fit(objective: str, steps: int, **objective_kw) -> tuple[PretrainModule, dict]:
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    pl.seed_everything(0, verbose=False)
    # strong weight decay: with nothing to resist it, shrinking the encoder is what collapse
    # looks like; VICReg's variance term must resist it
    module = PretrainModule("audio_cnn", 8, D, objective, lr=1e-2, weight_decay=2.0, dropout=0.0,
                            objective_kw=objective_kw)
    loader = DataLoader(TinyPairs(), batch_size=32, shuffle=True, collate_fn=collate_pairs)
    trainer = pl.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, loader)
    return module, {k: float(v) for k, v in trainer.callback_metrics.items()}


def test_training_step_logs_loss_and_collapse_monitors():
    _, metrics = _fit("simclr", 4)
    for key in ("train/loss", "train/embedding_std", "train/effective_rank", "train/info_nce"):
        assert key in metrics and math.isfinite(metrics[key])


def test_vicreg_does_not_collapse_but_invariance_alone_does():
    _, m_ok = _fit("vicreg", 100)
    _, m_bad = _fit("vicreg", 100, var=0.0, cov=0.0)  # invariance term only
    threshold = 0.4 / math.sqrt(D)
    assert m_ok["train/embedding_std"] > threshold, m_ok
    assert m_bad["train/embedding_std"] < 0.3 / math.sqrt(D), m_bad  # the check would fail on it
    assert m_ok["train/effective_rank"] > 2 * m_bad["train/effective_rank"]
    assert m_bad["train/invariance"] < m_ok["train/invariance"]  # it "wins" its loss by collapsing


def test_byol_updates_the_ema_target_encoder():
    module, metrics = _fit("byol", 6)
    assert math.isfinite(metrics["train/loss"])
    assert module.target is not None
    assert not any(p.requires_grad for p in module.target.parameters())
    online = dict(module.encoder.named_parameters())
    diffs = [float((online[k].detach() - p).abs().max()) for k, p in module.target["encoder"].named_parameters()]
    assert max(diffs) > 0  # the target lags behind the online encoder
    fresh = PretrainModule("audio_cnn", 8, D, "byol")
    assert any(not torch.equal(p, q) for p, q in zip(fresh.target.parameters(), module.target.parameters(),
                                                        strict=True))


@pytest.mark.parametrize("encoder, n_inputs, shape", [("audio_cnn", 8, (2, 20, 8)), ("visual_cnn", 48, (2, 1, 48, 48))])
def test_encoder_state_exports_to_safetensors_and_reloads(tmp_path, encoder, n_inputs, shape):
    module = PretrainModule(encoder, n_inputs, D, "vicreg").eval()
    path = tmp_path / "encoder.safetensors"
    module.save_encoder(path)
    fresh = build_encoder(encoder, n_inputs, D, 0.1).eval()
    fresh.load_state_dict(load_file(str(path)))
    x, mask = torch.rand(shape), torch.ones(shape[:2], dtype=torch.bool)
    torch.testing.assert_close(fresh(x, mask)[0], module.encoder(x, mask)[0])
    assert set(module.encoder_state()) == set(module.encoder.state_dict())


def test_unknown_objective_names_the_params_key():
    with pytest.raises(KeyError, match="objective"):
        PretrainModule("audio_cnn", 8, D, "mocov3")
