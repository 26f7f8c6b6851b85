"""Classical peers trained on avemo's own split (IEMOCAP-shaped train / val / test):

- ``egemaps_ridge``: openSMILE eGeMAPSv02 functionals (88 per utterance) + ridge, the AVEC
  audio baseline;
- ``hog_ridge``: HOG of the face crops (the same Haar-tracked crops avemo sees), mean and std
  over the clip's frames, + ridge;
- ``egemaps_hog_ridge``: their early fusion (the two feature sets concatenated) + ridge.

Every peer gets a fair shot: features standardised on train, one ridge per dimension whose
strength is tuned on the validation split (the highest validation CCC), scored on test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from avemo.evaluate import metrics
from avemo.features import store

ALPHAS = np.logspace(-2, 5, 15)
DIMS = ("valence", "arousal")
SPLITS = ("train", "val", "test")


def egemaps(split: store.Split, root: str | Path, progress: Callable[[], None] | None = None) -> np.ndarray:
    """``(clips, 88)`` eGeMAPSv02 functionals of each utterance's wav."""
    import opensmile

    from avemo.media import SAMPLE_RATE, load_audio

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    rows = []
    for path in split.index["audio_path"]:
        rows.append(smile.process_signal(load_audio(Path(root) / path), SAMPLE_RATE).to_numpy()[0])
        if progress:
            progress()
    return np.stack(rows).astype(np.float64)


def hog(split: store.Split, frame_step: int = 1) -> np.ndarray:
    """``(clips, 2 * HOG size)``: mean and std over each clip's face crops of their HOG."""
    import cv2

    px = int(split.tensors["video"].shape[-1])
    cell = max(4, px // 6)
    desc = cv2.HOGDescriptor((px, px), (2 * cell, 2 * cell), (cell, cell), (cell, cell), 9)
    out = []
    for i in range(len(split)):
        frames = split.get("video", i)[::frame_step].numpy()
        h = np.stack([desc.compute(np.ascontiguousarray(f)).ravel() for f in frames])
        out.append(np.concatenate([h.mean(0), h.std(0)]))
    return np.stack(out)


def _val_ccc(pred: np.ndarray, true: np.ndarray) -> float:
    """CCC of two 1-D arrays in the scores' convention (sample moments); 0 for a constant prediction."""
    import torch

    from avemo.train.losses import ccc

    pt = torch.as_tensor(np.stack([pred, true], 1), dtype=torch.float64)
    return float(ccc(pt[:, :1], pt[:, 1:], ddof=1)[0])


def ridge(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """Standardise on train, one ridge per dimension tuned on val CCC; test predictions
    (clipped to [-1, 1]) and the chosen strengths."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x["train"])
    z = {s: np.nan_to_num(scaler.transform(v)) for s, v in x.items()}
    preds, chosen = [], {}
    for k, dim in enumerate(DIMS):
        best = max(ALPHAS, key=lambda a: _val_ccc(Ridge(alpha=a).fit(z["train"], y["train"][:, k]).predict(z["val"]),
                                                  y["val"][:, k]))
        model = Ridge(alpha=best).fit(z["train"], y["train"][:, k])
        preds.append(np.clip(model.predict(z["test"]), -1, 1))
        chosen[dim] = float(best)
    return np.stack(preds, 1), chosen


def run(features_dir: str, iemocap_root: str, frame_step: int, progress: Callable[[], None] | None = None) -> dict:
    """The three peers' test scores (and their tuned strengths)."""
    splits = {s: store.read(features_dir, "iemocap", s) for s in SPLITS}
    y = {s: d.index[list(DIMS)].to_numpy(dtype=np.float64) for s, d in splits.items()}
    audio = {s: egemaps(d, iemocap_root, progress) for s, d in splits.items()}
    face = {s: hog(d, frame_step) for s, d in splits.items()}
    both = {s: np.concatenate([audio[s], face[s]], 1) for s in SPLITS}
    out = {}
    for name, x in (("egemaps_ridge", audio), ("hog_ridge", face), ("egemaps_hog_ridge", both)):
        pred, alphas = ridge(x, y)
        out[name] = {**metrics.scores(pred, y["test"], dims=DIMS), "ridge_alpha": alphas, "features": x["train"].shape[1]}
    return out
