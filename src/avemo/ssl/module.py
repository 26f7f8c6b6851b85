"""The pretraining LightningModule: encoder + pooling + a self-supervised objective.

A batch is two views ``{"x1", "m1", "x2", "m2"}`` (see :func:`avemo.ssl.data.collate_pairs`);
both go through the same encoder and pooling, the objective turns the two pooled embeddings
into a loss. Logged each epoch: ``train/loss``, the objective's own terms (``train/<name>``)
and the collapse monitors ``train/embedding_std`` and ``train/effective_rank`` of the pooled
encoder embeddings. :meth:`PretrainModule.encoder_state` is what gets exported (safetensors)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytorch_lightning as pl
import torch
from safetensors.torch import save_file

from avemo.models.encoders import build as build_encoder
from avemo.models.pooling import POOLING
from avemo.ssl import monitor
from avemo.ssl.byol import ema_update
from avemo.ssl.registry import build as build_objective


class PretrainModule(pl.LightningModule):
    def __init__(self, encoder_name: str, n_inputs: int, dim: int = 96, objective: str = "vicreg",
                 lr: float = 1e-3, weight_decay: float = 1e-4, dropout: float = 0.1, pooling: str = "mean",
                 max_epochs: int = 20, seed: int = 0, objective_kw: dict | None = None,
                 landmarks_weight: float = 0.0, n_landmarks: int = 70):
        super().__init__()
        self.save_hyperparameters()
        if pooling not in POOLING:
            raise KeyError(f"unknown pooling {pooling!r}; choose one of {sorted(POOLING)}")
        self.encoder = build_encoder(encoder_name, n_inputs, dim, dropout)
        self.pool = POOLING[pooling](dim)
        self.objective = build_objective(objective, dim, **(objective_kw or {}))
        # landmark-regression auxiliary (FaceSynthetics): (x, y) of each landmark from the
        # pooled embedding of the clean crop; a linear head, so the geometry must be in it
        self.landmark_head = torch.nn.Linear(dim, 2 * n_landmarks) if landmarks_weight > 0 else None
        self.target: torch.nn.ModuleDict | None = None
        if getattr(self.objective, "uses_target_encoder", False):  # BYOL: EMA encoder + pooling
            self.target = torch.nn.ModuleDict({"encoder": copy.deepcopy(self.encoder),
                                               "pool": copy.deepcopy(self.pool)}).requires_grad_(False)

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pooled encoder embeddings ``(B, dim)``."""
        h, m = self.encoder(x, mask)
        return self.pool(h, m)

    def _target_embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        assert self.target is not None
        with torch.no_grad():
            h, m = self.target["encoder"](x, mask)
            return self.target["pool"](h, m)

    def on_train_epoch_start(self) -> None:
        # dropout draws from the global RNG: tie it to the epoch so a resumed run matches
        torch.manual_seed(self.hparams.seed * 1000 + self.current_epoch)

    def training_step(self, batch: dict, _: int) -> torch.Tensor:
        e1, e2 = self.embed(batch["x1"], batch["m1"]), self.embed(batch["x2"], batch["m2"])
        if self.target is not None:
            t1, t2 = self._target_embed(batch["x1"], batch["m1"]), self._target_embed(batch["x2"], batch["m2"])
            loss, logs = self.objective(e1, e2, t1, t2)
        else:
            loss, logs = self.objective(e1, e2)
        n = len(e1)
        if self.landmark_head is not None and "landmarks" in batch:
            aux = self._landmark_loss(batch["x0"], batch["m0"], batch["landmarks"])
            self.log("train/landmarks", aux.detach(), on_step=False, on_epoch=True, sync_dist=True, batch_size=n)
            loss = loss + self.hparams.landmarks_weight * aux
        self.log("train/loss", loss, on_step=False, on_epoch=True, sync_dist=True, prog_bar=True, batch_size=n)
        for k, v in logs.items():
            self.log(f"train/{k}", v, on_step=False, on_epoch=True, sync_dist=True, batch_size=n)
        self.log("train/embedding_std", monitor.embedding_std(e1.detach()), on_step=False, on_epoch=True, sync_dist=True, batch_size=n)
        self.log("train/effective_rank", monitor.effective_rank(e1.detach()), on_step=False, on_epoch=True, sync_dist=True,
                 batch_size=n)
        return loss

    def _landmark_loss(self, x: torch.Tensor, mask: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """MSE of the predicted landmarks (crop coordinates) over the samples that have them."""
        assert self.landmark_head is not None
        pred = self.landmark_head(self.embed(x, mask)).view_as(target)
        ok = torch.isfinite(target).flatten(1).all(1)
        if not ok.any():
            return pred.sum() * 0.0
        return torch.nn.functional.mse_loss(pred[ok], target[ok])

    def on_train_batch_end(self, *_) -> None:
        if self.target is None:
            return
        total = self.trainer.estimated_stepping_batches if self._trainer is not None else 1
        progress = self.global_step / max(float(total), 1.0)
        self.objective.update_target(progress)
        ema_update(self.target["encoder"], self.encoder, self.objective.tau)
        ema_update(self.target["pool"], self.pool, self.objective.tau)

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(self.hparams.max_epochs, 1))
        return {"optimizer": opt, "lr_scheduler": sched}

    def encoder_state(self) -> dict[str, torch.Tensor]:
        """The encoder's weights (CPU, contiguous): loadable by ``models.encoders.build(...)``."""
        return {k: v.detach().cpu().contiguous() for k, v in self.encoder.state_dict().items()}

    def save_encoder(self, path: str | Path) -> None:
        save_file(self.encoder_state(), str(path),
                  metadata={"encoder": self.hparams.encoder_name, "dim": str(self.hparams.dim),
                            "n_inputs": str(self.hparams.n_inputs), "objective": self.hparams.objective})
