"""Report figures as PNG: predicted vs true per dimension, the valence-arousal plane, training curves.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot, so no global figure
state, no GUI backend and nothing left open) and written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avemo.evaluate.metrics import DIMS, _matrix, scores
from avemo.io import atomic_path

DPI = 100


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
    finally:
        fig.clear()
    return path


def pred_vs_true(
    pred: Any, true: Any, dims: Sequence[str] = DIMS, path: str | Path = "pred_vs_true.png", title: str = ""
) -> Path:
    """One scatter panel per dimension (prediction against truth) with the identity line and CCC."""
    dims = tuple(dims)
    p_all, t_all = _matrix(pred, dims, "pred"), _matrix(true, dims, "true")
    s = scores(p_all, t_all, dims)
    fig = _figure(3.6 * len(dims), 3.8)
    axes = fig.subplots(1, len(dims), squeeze=False)[0]
    for j, (ax, d) in enumerate(zip(axes, dims, strict=True)):
        keep = ~np.isnan(t_all[:, j])
        t, p = t_all[keep, j], p_all[keep, j]
        lo = float(min(-1.0, np.nanmin(t, initial=-1.0), np.nanmin(p, initial=-1.0)))
        hi = float(max(1.0, np.nanmax(t, initial=1.0), np.nanmax(p, initial=1.0)))
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, ls="--", label="identity")
        ax.scatter(t, p, s=10, alpha=0.6, color=f"C{j}", edgecolors="none")
        ccc = s.get(f"ccc_{d}")
        ax.set_title(f"{d}: CCC {ccc:.3f} (n={len(t)})" if ccc is not None else f"{d}: CCC n/a (n={len(t)})")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_xlabel(f"true {d}")
        ax.set_ylabel(f"predicted {d}")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def va_plane(pred: Any, true: Any, path: str | Path = "va_plane.png", title: str = "") -> Path:
    """Valence (x) - arousal (y) plane: true and predicted points, a faint line joining each pair."""
    from matplotlib.collections import LineCollection

    dims = ("valence", "arousal")
    p, t = _matrix(pred, dims, "pred"), _matrix(true, dims, "true")
    keep = ~np.isnan(t).any(axis=1) & np.isfinite(p).all(axis=1)
    p, t = p[keep], t[keep]
    fig = _figure(5.5, 5.5)
    ax = fig.subplots()
    if len(t):
        segments = np.stack([t, p], axis=1)  # (n, 2 points, xy)
        ax.add_collection(LineCollection(segments, colors="0.6", linewidths=0.6, alpha=0.35, zorder=1))
    ax.scatter(t[:, 0], t[:, 1], s=14, color="C0", alpha=0.7, edgecolors="none", label="true", zorder=2)
    ax.scatter(p[:, 0], p[:, 1], s=14, color="C3", marker="^", alpha=0.7, edgecolors="none",
               label="predicted", zorder=3)
    _plane(ax)
    ax.legend(loc="center left", bbox_to_anchor=(0.0, 0.3), fontsize=8, framealpha=0.8)
    ax.set_title(title or f"valence-arousal plane (n={len(t)})")
    return _save(fig, path)


def _plane(ax: Any) -> None:
    """Axes, quadrant names and limits of the valence (x) - arousal (y) plane."""
    ax.axhline(0, color="0.3", lw=0.8)
    ax.axvline(0, color="0.3", lw=0.8)
    for x, y, text, ha, va in (
        (0.97, 0.97, "excited / happy\n(+V, +A)", "right", "top"),
        (-0.97, 0.97, "angry / afraid\n(-V, +A)", "left", "top"),
        (-0.97, -0.97, "sad / bored\n(-V, -A)", "left", "bottom"),
        (0.97, -0.97, "calm / content\n(+V, -A)", "right", "bottom"),
    ):
        ax.text(x, y, text, ha=ha, va=va, fontsize=8, color="0.35")
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")


def trace(series: pd.DataFrame, path: str | Path = "trace.png", title: str = "") -> Path:
    """A file's predictions over time: valence and arousal traces (fused solid, each stream's
    own dashed) and the path through the valence-arousal plane, coloured by time."""
    fig = _figure(12, 4.2)
    ax_t, ax_p = fig.subplots(1, 2, width_ratios=[2.2, 1])
    t = series["time_s"].to_numpy(dtype=float)
    for k, dim in enumerate(("valence", "arousal")):
        ax_t.plot(t, series[dim], color=f"C{k}", lw=1.8, label=f"{dim} (fused)")
        for stream, style in (("audio", "--"), ("visual", ":")):
            col = f"{stream}_{dim}"
            if col in series and series[col].notna().any():
                ax_t.plot(t, series[col], color=f"C{k}", ls=style, lw=1, alpha=0.7, label=f"{dim} ({stream})")
    ax_t.set_ylim(-1.05, 1.05)
    ax_t.axhline(0, color="0.6", lw=0.8)
    ax_t.set_xlabel("time (s)")
    ax_t.grid(alpha=0.3)
    ax_t.legend(fontsize=7, ncol=3, loc="lower left")
    ok = series[["valence", "arousal"]].notna().all(axis=1).to_numpy()
    ax_p.plot(series["valence"][ok], series["arousal"][ok], color="0.7", lw=0.8, zorder=1)
    sc = ax_p.scatter(series["valence"][ok], series["arousal"][ok], c=t[ok], cmap="viridis", s=14, zorder=2)
    fig.colorbar(sc, ax=ax_p, label="time (s)", shrink=0.8)
    _plane(ax_p)
    ax_p.set_title("path in the valence-arousal plane", fontsize=9)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def training_curves(history: pd.DataFrame, path: str | Path = "training_curves.png", title: str = "") -> Path:
    """Loss (every ``*loss*`` column) and validation CCC (every ``val*ccc*`` column) per epoch.

    ``history`` has one row per epoch; the x axis is its ``epoch`` column if present, else the row
    number. NaN cells (a metric not logged that epoch) are skipped.
    """
    h = history.reset_index(drop=True)
    x = h["epoch"].to_numpy() if "epoch" in h.columns else np.arange(len(h))
    loss_cols = [c for c in h.columns if "loss" in str(c).lower()]
    ccc_cols = [c for c in h.columns if "ccc" in str(c).lower() and "val" in str(c).lower()]
    fig = _figure(10, 3.8)
    ax_loss, ax_ccc = fig.subplots(1, 2)
    for i, col in enumerate(loss_cols):
        y = pd.to_numeric(h[col], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(y)
        ax_loss.plot(x[ok], y[ok], marker="o", ms=3, color=f"C{i}", label=str(col))
    for i, col in enumerate(ccc_cols):
        y = pd.to_numeric(h[col], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(y)
        ax_ccc.plot(x[ok], y[ok], marker="o", ms=3, color=f"C{i}", label=str(col))
    ax_loss.set_title("loss")
    ax_ccc.set_title("validation CCC")
    ax_ccc.axhline(0, color="0.6", lw=0.8)
    from matplotlib.ticker import MaxNLocator

    for ax, cols in ((ax_loss, loss_cols), (ax_ccc, ccc_cols)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if cols:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="0.5")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
