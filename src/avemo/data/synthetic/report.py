"""``reports/corpus.json``: what the embedded corpora hold, the ceiling any model can reach
(oracle CCC of the hidden latent against the gold labels, scored like the models) and proof
that the designed cues are present, measured back from the written files (within-speaker
correlations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from rich.table import Table

from avemo.config import SynthesizeConfig
from avemo.data import iemocap as iemocap_reader
from avemo.data import manifest
from avemo.data import tedlium as tedlium_reader
from avemo.data.synthetic import faces
from avemo.evaluate import metrics
from avemo.io import write_json

DIMS = ("valence", "arousal", "dominance")


def within_r(df: pd.DataFrame, group: str, a: str, b: str) -> float:
    """Pearson r of ``a`` and ``b`` after removing each group's mean from both."""
    centred = df[[a, b]] - df.groupby(group)[[a, b]].transform("mean")
    return float(np.corrcoef(centred[a], centred[b])[0, 1])


def voice_features(path: Path) -> tuple[float, float]:
    """(median log-F0 of voiced frames, RMS level in dB of active frames) of a speech file."""
    import torch
    import torchaudio

    x, sr = sf.read(path, dtype="float32")
    hop = sr // 100
    n = x.size // hop
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    active = rms > 0.25 * np.percentile(rms, 95)
    f0 = torchaudio.functional.detect_pitch_frequency(
        torch.from_numpy(x), sr, frame_time=0.01, freq_low=70, freq_high=500
    ).numpy()
    f0 = f0[(f0 > 70) & (f0 < 500)]
    return float(np.log(np.median(f0))), float(20 * np.log10(rms[active].mean()))


def run(cfg: SynthesizeConfig, generation: dict) -> dict:
    root = Path(cfg.out_dir)
    iem, fs = root / "iemocap", root / "facesynthetics"
    truth = pd.read_csv(iem / "_truth/utterances.csv")
    gold = _gold(iem)
    df = truth.merge(gold, on="clip_id", suffixes=("_true", "_gold"))
    scored = metrics.scores(df[[f"{d}_true" for d in DIMS]].to_numpy(), df[[f"{d}_gold" for d in DIMS]].to_numpy(),
                            dims=DIMS)
    oracle = {f"ccc_{d}": scored[f"ccc_{d}"] for d in DIMS}

    feats = [voice_features(iem / p) for p in df["audio_path"]]
    df["log_f0"], df["energy_db"] = zip(*feats, strict=True)
    ft = pd.read_csv(fs / "_truth/faces.csv", dtype={"id": str})
    geo = [faces_geometry(fs / f"{i}_ldmks.txt") for i in ft["id"]]
    ft["mouth"], ft["eye"] = zip(*geo, strict=True)

    cues = {
        "arousal_pitch_r": within_r(df, "speaker", "arousal_true", "log_f0"),
        "arousal_energy_r": within_r(df, "speaker", "arousal_true", "energy_db"),
        "valence_pitch_r": within_r(df, "speaker", "valence_true", "log_f0"),
        "valence_energy_r": within_r(df, "speaker", "valence_true", "energy_db"),
        "valence_mouth_r": within_r(ft, "identity", "valence", "mouth"),
        "arousal_eye_r": within_r(ft, "identity", "arousal", "eye"),
    }
    talks = _talks(root / "tedlium")
    return {
        "size": cfg.size,
        "seed": cfg.seed,
        "generation_s": generation["generation_s"],
        "counts": {
            "iemocap": {
                "utterances": len(df),
                "speakers": int(df["speaker"].nunique()),
                "dialogs": int(df["clip_id"].str.rsplit("_", n=1).str[0].nunique()),
                "hours": round(float(df["duration_s"].sum()) / 3600, 3),
                "duration_s": _spread(df["duration_s"]),
                "categories": {k: int(v) for k, v in df["category"].value_counts().sort_index().items()},
            },
            "tedlium": talks,
            "facesynthetics": {"images": len(ft), "identities": int(ft["identity"].nunique())},
        },
        "labels": {
            d: {
                "mean": round(float(df[f"{d}_gold"].mean()), 4),
                "std": round(float(df[f"{d}_gold"].std()), 4),
                "histogram": np.histogram(df[f"{d}_gold"], bins=8, range=(-1, 1))[0].tolist(),
            }
            for d in DIMS
        },
        "oracle": oracle,
        "cues": {k: round(v, 4) for k, v in cues.items()},
    }


def faces_geometry(path: Path) -> tuple[float, float]:
    pts = np.loadtxt(path, dtype=np.float32)
    return faces.mouth_curvature(pts), faces.eye_opening(pts)


def _gold(iem: Path) -> pd.DataFrame:
    """Gold labels read back through the IEMOCAP reader, exactly as training will see them."""
    rows = []
    for txt in sorted(iem.glob("Session*/dialog/EmoEvaluation/*.txt")):
        session = txt.parents[2].name
        for t in iemocap_reader.parse_evaluation(txt):
            dialog = t.utt.rsplit("_", 1)[0]
            rows.append({
                "clip_id": t.utt, "category": t.category, "duration_s": t.end - t.start,
                "audio_path": f"{session}/sentences/wav/{dialog}/{t.utt}.wav",
                **{d: manifest.iemocap_to_unit(x) for d, x in zip(DIMS, t.vad, strict=True)},
            })
    return pd.DataFrame(rows)


def _talks(root: Path) -> dict:
    """Talks, kept (scored) segments and hours of TED-LIUM-shaped speech."""
    segs = [tedlium_reader.parse_stm(p) for p in sorted(root.glob("data/stm/*.stm"))]
    hours = sum(sf.info(str(p)).duration for p in root.glob("data/sph/*.sph")) / 3600
    lengths = pd.Series([end - start for talk in segs for _, _, start, end in talk], dtype=float)
    return {
        "talks": len(segs), "segments": int(lengths.size), "hours": round(hours, 3),
        "duration_s": _spread(lengths),
    }


def _spread(x: pd.Series) -> dict:
    return {k: round(float(getattr(x, k)()), 3) for k in ("mean", "min", "max")}


def write(rep: dict, path: str) -> None:
    write_json(path, rep)


def table(rep: dict) -> Table:
    t = Table(title=f"corpus report ({rep['size']}, generated in {rep['generation_s']:.1f} s)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for k, v in rep["oracle"].items():
        t.add_row(f"oracle {k}", f"{v:.3f}")
    for k, v in rep["cues"].items():
        t.add_row(f"within-speaker {k}", f"{v:+.3f}")
    return t
