"""The Lightning module: a Regressor trained with the CCC loss, scored with torchmetrics."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torchmetrics import ConcordanceCorrCoef, MeanSquaredError, PearsonCorrCoef

from avemo.models.regressor import Regressor, bounded
from avemo.train.losses import ccc_loss


class EmotionModule(pl.LightningModule):
    def __init__(self, encoder: str, n_inputs: int, targets: list[str], dim: int = 96,
                 dropout: float = 0.2, pooling: str = "attention", lr: float = 2e-3,
                 weight_decay: float = 1e-4, max_epochs: int = 40, seed: int = 0, mse_weight: float = 0.1,
                 encoder_lr_mult: float = 1.0, stats: bool = False):
        super().__init__()
        self.save_hyperparameters()
        self.targets = list(targets)
        self.model = Regressor(encoder, n_inputs, len(targets), dim, dropout, pooling, stats)
        k = len(targets)
        self.val_ccc = ConcordanceCorrCoef(num_outputs=k)
        self.val_pcc = PearsonCorrCoef(num_outputs=k)
        self.val_mse = MeanSquaredError(num_outputs=k)

    @property
    def backbone(self) -> torch.nn.Module:
        """The encoder, under the name Lightning's BackboneFinetuning (LP-FT) looks for."""
        return self.model.encoder

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model(x, mask)

    def on_train_epoch_start(self) -> None:
        # dropout draws from the global RNG: tie it to the epoch so a resumed run matches
        torch.manual_seed(self.hparams.seed * 1000 + self.current_epoch)

    def training_step(self, batch: dict, _: int) -> torch.Tensor:
        pred = self(batch["x"], batch["mask"])["clip"]
        loss = ccc_loss(pred, batch["y"], batch["w"], self.hparams.mse_weight)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(pred))
        return loss

    def validation_step(self, batch: dict, _: int) -> None:
        pred = bounded(self(batch["x"], batch["mask"])["clip"])
        self.log("val/loss", ccc_loss(pred, batch["y"]), on_step=False, on_epoch=True, batch_size=len(pred),
                 sync_dist=True)  # DDP: the mean over every process's batches (the CCCs sync in compute())
        self.val_ccc.update(pred, batch["y"])
        self.val_pcc.update(pred, batch["y"])
        self.val_mse.update(pred, batch["y"])

    def on_validation_epoch_end(self) -> None:
        ccc, pcc, rmse = self.val_ccc.compute(), self.val_pcc.compute(), self.val_mse.compute().sqrt()
        # a constant prediction (e.g. every clip clamped to the same bound) has no covariance
        # with the labels: its CCC is 0, not torchmetrics' 0/0 = NaN, which would make early
        # stopping end the run on the spot
        ccc, pcc = ccc.nan_to_num(0.0), pcc.nan_to_num(0.0)
        for k, name in enumerate(self.targets):
            self.log(f"val/ccc_{name}", ccc[k])
            self.log(f"val/pcc_{name}", pcc[k])
            self.log(f"val/rmse_{name}", rmse[k])
        main = [self.targets.index(d) for d in ("valence", "arousal") if d in self.targets]
        self.log("val/ccc_mean", ccc[main].mean(), prog_bar=True)
        for m in (self.val_ccc, self.val_pcc, self.val_mse):
            m.reset()

    def predict_step(self, batch: dict, _: int) -> dict[str, torch.Tensor]:
        out = self(batch["x"], batch["mask"])
        return {"clip": bounded(out["clip"]), "index": batch["index"]}

    def configure_optimizers(self):
        # a pretrained encoder is fine-tuned at encoder_lr_mult x the learning rate of the
        # freshly initialised pooling and head, so that early large updates do not wash it out;
        # a frozen one (LP-FT) joins later through BackboneFinetuning
        enc = [q for q in self.model.encoder.parameters() if q.requires_grad]
        ids = {id(q) for q in self.model.encoder.parameters()}
        rest = [q for q in self.parameters() if id(q) not in ids]
        lr = self.hparams.lr
        groups = [{"params": rest, "lr": lr}] + ([{"params": enc, "lr": lr * self.hparams.encoder_lr_mult}] if enc else [])
        opt = torch.optim.AdamW(groups, lr=lr, weight_decay=self.hparams.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.hparams.max_epochs)
        return {"optimizer": opt, "lr_scheduler": sched}
