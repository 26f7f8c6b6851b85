"""Fitting the fusions on cached stream outputs: late fusion's weights on the validation
predictions; attention fusion with Lightning on the train split (modality dropout, early
stopping on validation CCC); either fusion's stream offsets, if it has them, on validation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader
from torchmetrics import ConcordanceCorrCoef

from avemo import device
from avemo.config import LateFusionConfig, Params
from avemo.fuse.data import StreamCache, collate_cache
from avemo.models.fusion import STREAMS, LateFusion
from avemo.models.fusion import build as build_fusion
from avemo.models.regressor import bounded
from avemo.train.data import loader_settings
from avemo.train.fit import build_trainer
from avemo.train.losses import ccc_loss


def _all(batch: dict) -> tuple[dict, torch.Tensor]:
    inputs = {s: batch[s] for s in STREAMS}
    return inputs, torch.ones(len(batch["y"]), len(STREAMS), dtype=torch.bool, device=batch["y"].device)


def _val_batch(val: StreamCache, dev: torch.device | str = "cpu") -> tuple[dict, list[torch.Tensor], torch.Tensor]:
    """The whole validation split as one batch on ``dev``, its presence patterns (both streams,
    then each alone: a stream's offset must serve it alone as well as in the mix) and the targets."""
    batch = device.move(collate_cache([val[i] for i in range(len(val))]), dev)
    inputs, both = _all(batch)
    alone = [both & (torch.arange(len(STREAMS), device=both.device) == k) for k in range(len(STREAMS))]
    return inputs, [both, *alone], batch["y"]


def fit_late(fusion: LateFusion, val: StreamCache, cfg: LateFusionConfig,
             dev: torch.device | str = "cpu") -> LateFusion:
    """Per-dimension stream weights (and offsets) that maximise the CCC of the fused validation
    predictions (Adam, ``cfg.steps`` at ``cfg.lr``, on ``dev``), summed over the presence patterns."""
    inputs, patterns, y = _val_batch(val, dev)
    fusion.to(dev)
    _maximise_ccc(list(fusion.parameters()), cfg, y, lambda: (fusion(inputs, present) for present in patterns))
    return fusion.cpu().eval()


def _maximise_ccc(params: list[torch.nn.Parameter], cfg: LateFusionConfig, y: torch.Tensor,
                  outputs: Callable[[], Iterator[torch.Tensor]]) -> None:
    """Adam on ``params`` (``cfg.steps`` at ``cfg.lr``) maximising the CCC against ``y``,
    summed over the predictions ``outputs()`` yields at each step."""
    opt = torch.optim.Adam(params, lr=cfg.lr)
    for _ in range(cfg.steps):
        opt.zero_grad()
        loss = sum(ccc_loss(bounded(out), y) for out in outputs())
        loss.backward()
        opt.step()


@torch.no_grad()
def _offset_response(fusion: torch.nn.Module, inputs: dict, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The fusion's output with zero offsets ``(B, K)`` and its change per unit offset of each
    stream ``(B, S, K)``: the output is linear in the offsets (they shift the streams'
    predictions, which the gates only weight), so these two give it for any offsets."""
    saved = fusion.offsets.detach().clone()
    fusion.offsets.zero_()
    base = fusion(inputs, present)
    slopes = []
    for k in range(len(STREAMS)):
        fusion.offsets.zero_()
        fusion.offsets[k] = 1.0
        slopes.append(fusion(inputs, present) - base)
    fusion.offsets.copy_(saved)
    return base, torch.stack(slopes, dim=1)


def fit_offsets(fusion: torch.nn.Module, val: StreamCache, cfg: LateFusionConfig,
                dev: torch.device | str = "cpu") -> torch.nn.Module:
    """A trained fusion's stream offsets (the rest frozen) that maximise the validation CCC,
    summed over the presence patterns; the fusion runs once per pattern and stream, not per step."""
    fusion.to(dev).eval()
    inputs, patterns, y = _val_batch(val, dev)
    responses = [_offset_response(fusion, inputs, present) for present in patterns]
    _maximise_ccc([fusion.offsets], cfg, y,
                  lambda: (base + (slopes * fusion.offsets).sum(1) for base, slopes in responses))
    return fusion.cpu()


class FusionModule(pl.LightningModule):
    """A fusion trained on cached stream outputs; each training sample loses one stream
    (chosen at random) with probability ``modality_dropout``."""

    def __init__(self, name: str, dims: dict[str, int], n_targets: int, fusion_kwargs: dict,
                 lr: float = 1e-3, weight_decay: float = 1e-4, modality_dropout: float = 0.3,
                 mse_weight: float = 0.1, seed: int = 0):
        super().__init__()
        self.save_hyperparameters()
        self.fusion = build_fusion(name, dims, n_targets, **fusion_kwargs)
        self.val_ccc = ConcordanceCorrCoef(num_outputs=n_targets)

    def on_train_epoch_start(self) -> None:
        torch.manual_seed(self.hparams.seed * 1000 + self.current_epoch)  # dropout and modality drops

    def training_step(self, batch: dict, _: int) -> torch.Tensor:
        inputs, present = _all(batch)
        # drawn on the CPU (the same draws on every device), applied where the batch is
        drop = (torch.rand(len(present)) < self.hparams.modality_dropout).to(present.device)
        which = torch.randint(0, len(STREAMS), (len(present),)).to(present.device)
        present = present.clone()
        present[drop, which[drop]] = False
        loss = ccc_loss(self.fusion(inputs, present), batch["y"], mse_weight=self.hparams.mse_weight)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(present))
        return loss

    def validation_step(self, batch: dict, _: int) -> None:
        pred = bounded(self.fusion(*_all(batch)))
        self.log("val/loss", ccc_loss(pred, batch["y"]), on_step=False, on_epoch=True, batch_size=len(pred))
        self.val_ccc.update(pred, batch["y"])

    def on_validation_epoch_end(self) -> None:
        ccc = self.val_ccc.compute()
        self.log("val/ccc_mean", ccc[:2].mean(), prog_bar=True)
        self.val_ccc.reset()

    def configure_optimizers(self):
        # stream offsets are left at zero here: they are fit on validation afterwards (fit_offsets)
        params = [w for name, w in self.fusion.named_parameters() if name != "offsets"]
        return torch.optim.AdamW(params, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)


def fit_attention(p: Params, train: StreamCache, val: StreamCache, dims: dict[str, int], run_dir: Path,
                  loggers: list, progress: bool = True) -> tuple[torch.nn.Module, list[dict]]:
    """Train attention fusion; return the fusion of the best validation epoch, in eval mode."""
    a = p.fuse.attention
    pl.seed_everything(p.fuse.seed, workers=True, verbose=False)
    module = FusionModule("attention", dims, len(p.model.targets),
                          attention_kwargs(p), a.lr, a.weight_decay,
                          a.modality_dropout, p.train.mse_weight, p.fuse.seed)
    settings = p.model_copy(update={"train": p.train.model_copy(update={"max_epochs": a.max_epochs,
                                                                          "patience": a.patience})})
    trainer, ckpt, history = build_trainer(settings, run_dir, loggers, progress=progress)
    g = torch.Generator().manual_seed(p.fuse.seed)
    pin = {"pin_memory": loader_settings(p.train)["pin_memory"]}  # cached tensors: no workers needed
    train_dl = DataLoader(train, batch_size=a.batch_size, shuffle=True, generator=g, collate_fn=collate_cache, **pin)
    val_dl = DataLoader(val, batch_size=a.batch_size, collate_fn=collate_cache, **pin)
    trainer.fit(module, train_dl, val_dl)
    best = FusionModule.load_from_checkpoint(ckpt.best_model_path, weights_only=False, map_location="cpu").fusion
    if best.offsets is not None:
        fit_offsets(best, val, p.fuse.late, device.resolve(p.train.accelerator))
    return best.eval(), history.rows


def attention_kwargs(p: Params) -> dict:
    a = p.fuse.attention
    return {"dim": a.dim, "heads": a.heads, "dropout": a.dropout, "offsets": p.fuse.offsets}
