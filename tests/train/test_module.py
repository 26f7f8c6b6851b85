import math

import torch

from avemo.train.module import EmotionModule


def test_a_constant_prediction_scores_zero_not_nan():
    """A model whose valence output is pinned (e.g. clamped at a bound for every clip) has CCC 0;
    torchmetrics' 0/0 NaN would make early stopping end the run after its first epoch."""
    module = EmotionModule("audio_cnn", 16, ["valence", "arousal"], dim=8)
    logged = {}
    module.log = lambda name, value, **_: logged.__setitem__(name, float(value))
    y = torch.tensor([[0.1, -0.5], [0.4, 0.2], [-0.3, 0.9]])
    pred = torch.stack([torch.ones(3), y[:, 1] * 0.8], 1)  # valence constant, arousal informative
    module.val_ccc.update(pred, y)
    module.val_pcc.update(pred, y)
    module.val_mse.update(pred, y)
    module.on_validation_epoch_end()
    assert logged["val/ccc_valence"] == 0.0 and logged["val/ccc_arousal"] > 0.9
    assert math.isfinite(logged["val/ccc_mean"]) and abs(logged["val/ccc_mean"] - logged["val/ccc_arousal"] / 2) < 1e-6
