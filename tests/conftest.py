"""Shared fixtures: the project's params, tiny-corpus params, a small synthetic feature store
whose targets are learnable from the features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from avemo import config
from avemo.features import store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.fixture(scope="session")
def tiny_params(raw_params: dict):
    """Factory: params.yaml as a dict with the tiny corpus size and every path under ``base``."""

    def make(base: Path) -> dict:
        p = yaml.safe_load(yaml.safe_dump(raw_params))
        raw = base / "raw"
        p["synthesize"].update(size="tiny", out_dir=str(raw), report=str(base / "reports/corpus.json"))
        p["ingest"].update(
            iemocap=str(raw / "iemocap"), tedlium=str(raw / "tedlium"),
            facesynthetics=str(raw / "facesynthetics"), out_dir=str(base / "interim"),
        )
        p["validate"].update(
            manifests_dir=str(base / "interim"), out_dir=str(base / "validated"),
            expectations_dir=str(ROOT / "expectations"),
            report=str(base / "reports/validation.json"), report_md=str(base / "reports/validation.md"),
        )
        p["features"].update(out_dir=str(base / "features"), report=str(base / "reports/features.json"))
        return p

    return make


def _synthetic_split(rng: np.random.Generator, n: int, split: str) -> tuple[pd.DataFrame, dict]:
    v, a = rng.uniform(-0.9, 0.9, n), rng.uniform(-0.9, 0.9, n)
    audio, video = [], []
    for i in range(n):
        t = int(rng.integers(40, 90))
        mel = rng.normal(0, 1, (t, 16)).astype(np.float32)
        mel[:, :4] += 2.0 * a[i]  # arousal raises the low bands
        audio.append(mel)
        f = int(rng.integers(4, 9))
        frames = rng.integers(60, 120, (f, 24, 24)).astype(np.float32)
        frames[:, 12:, :] += 60 * v[i]  # valence brightens the lower half
        video.append(np.clip(frames, 0, 255).astype(np.uint8))
    index = pd.DataFrame({
        "clip_id": [f"{split}{i:03d}" for i in range(n)], "speaker": [f"s{i % 4}" for i in range(n)],
        "split": split, "valence": v, "arousal": a, "dominance": 0.0, "label_source": "gold",
        "label_weight": 1.0, "duration_s": [len(x) / 100 for x in audio],  # 10 ms log-mel frames
    })
    a_data, a_off = store.pack(audio, torch.float16)
    v_data, v_off = store.pack(video, torch.uint8)
    return index, {"audio": a_data, "audio_offsets": a_off, "video": v_data, "video_offsets": v_off}


def _unlabelled(rng: np.random.Generator, corpus: str, n: int, raw: Path) -> tuple[pd.DataFrame, dict]:
    """TED-LIUM-like audio segments (four talks) or FaceSynthetics-like single faces (+
    landmarks, some NaN) carrying the same planted cues as the labelled store; the values
    behind the cues go to ``raw/<corpus>/_truth`` as the generator writes them."""
    from avemo.data import tedlium

    index, tensors = _synthetic_split(rng, n, "unlabelled")
    truth = index[["valence", "arousal", "dominance"]].copy()
    index = index.assign(corpus=corpus, label_source="none", valence=np.nan, arousal=np.nan, dominance=np.nan)
    out = raw / corpus / "_truth"
    out.mkdir(parents=True)
    if corpus == "tedlium":
        talks, starts = [f"Talk{i % 4}_2020" for i in range(n)], [5.0 * i for i in range(n)]
        index["speaker"] = talks
        index["clip_id"] = [tedlium.clip_id(t, s, s + 3) for t, s in zip(talks, starts, strict=True)]
        truth = truth.assign(talk=talks, start=starts, end=[s + 3 for s in starts])
        for talk, rows in truth.groupby("talk"):
            rows[["talk", "start", "end", "valence", "arousal", "dominance"]].to_csv(out / f"{talk}.csv", index=False)
        return index, {k: v for k, v in tensors.items() if k.startswith("audio")}
    index["clip_id"], index["speaker"] = [f"{i:06d}" for i in range(n)], None
    truth.assign(id=index["clip_id"], identity="id0000")[["id", "identity", "valence", "arousal", "dominance"]].to_csv(
        out / "faces.csv", index=False)
    frames = [tensors["video"][int(a)] for a in tensors["video_offsets"][:-1]]  # one frame per face
    v_data, v_off = store.pack([f[None].numpy() for f in frames], torch.uint8)
    lm = torch.from_numpy(rng.uniform(-0.8, 0.8, (n, 70, 2)).astype(np.float32))
    lm[::5] = float("nan")  # images without a landmark file
    return index, {"video": v_data, "video_offsets": v_off, "landmarks": lm}


@pytest.fixture(scope="session")
def feature_store(tmp_path_factory) -> str:
    """IEMOCAP-like train/val/test (both streams, gold labels) and the two unlabelled corpora."""
    out = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("val", 24), ("test", 24)):
        index, tensors = _synthetic_split(rng, n, split)
        store.write(out, "iemocap", split, index, tensors)
        if split == "train":  # the latent behind the gold labels (here: the labels themselves)
            (out / "_raw/iemocap/_truth").mkdir(parents=True)
            index[["clip_id", "speaker", "valence", "arousal", "dominance"]].to_csv(
                out / "_raw/iemocap/_truth/utterances.csv", index=False)
            mel = tensors["audio"].float()
            store.write_stats(out, mel.mean(0), mel.std(0))
    for corpus, n in (("tedlium", 48), ("facesynthetics", 80)):
        store.write(out, corpus, "unlabelled", *_unlabelled(rng, corpus, n, out / "_raw"))
    return str(out)


@pytest.fixture
def train_params(raw_params, feature_store, tmp_path) -> config.Params:
    """Params for training on the synthetic feature store: a few epochs of small models,
    every output under ``tmp_path``."""
    p = yaml.safe_load(yaml.safe_dump(raw_params))
    p["features"]["out_dir"] = feature_store
    p["features"]["audio"]["normalise"] = "global"  # the store plants arousal as a level: keep it
    p["train"].update(max_epochs=4, batch_size=16, patience=10, lr=0.005)
    p["model"]["audio"].update(dim=16, stats=False)  # global normalisation: stats need per-utterance
    p["model"]["visual"].update(dim=16)
    p["teacher"].update(out_dir=str(tmp_path / "teacher"), init_from_pretrained=[])
    p["pretrain"].update(out_dir=str(tmp_path / "pretrain"), reports_dir=str(tmp_path / "reports"))
    p["ingest"].update(iemocap=f"{feature_store}/_raw/iemocap", tedlium=f"{feature_store}/_raw/tedlium", facesynthetics=f"{feature_store}/_raw/facesynthetics")
    p["pseudo"].update(out_dir=str(tmp_path / "pseudo"), report=str(tmp_path / "pseudo.json"), passes=4)
    p["pseudo"]["select"].update(max_group_share=0.3)
    p["pseudo"]["experiment"].update(fractions=[0.25, 1.0], seeds=[42], out_dir=str(tmp_path / "pexp"))
    p["student"]["out_dir"] = str(tmp_path / "student")
    p["tracking"].update(mlflow_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_dir=str(tmp_path / "mlruns"))
    return config.parse(p)



@pytest.fixture(scope="session")
def fused_config():
    """Factory: the config of a small FusedModel (16-dim streams) with the project's front-end
    settings, as the fuse stage writes it (``scores`` included)."""

    def make(fusion: str = "late") -> dict:
        feats = config.FeaturesConfig().model_dump()
        stream = {"dim": 16, "dropout": 0.1, "pooling": "attention"}
        return {"targets": ["valence", "arousal"],
                "streams": {"audio": {"encoder": "audio_cnn", "n_inputs": feats["audio"]["n_mels"], **stream},
                            "visual": {"encoder": "visual_cnn", "n_inputs": feats["video"]["crop_px"], **stream}},
                "fusion": {"name": fusion, "kwargs": {"dim": 16, "heads": 2} if fusion == "attention" else {}},
                "features": feats, "video_frame_step": 3, "video_frame_rate": 10 / 3,
                "scores": {s: {"ccc_valence": 0.5, "ccc_arousal": 0.5, "ccc_mean": 0.5} for s in ("val", "test")}}

    return make


@pytest.fixture(scope="session")
def save_fused(tmp_path_factory, fused_config):
    """Factory: a small late-fusion FusedModel (fixed seed and stream weights) saved in a new
    folder, its config updated with ``extra`` keys; returns the folder."""
    from avemo.models import fused

    def make(**extra) -> Path:
        torch.manual_seed(0)
        d = tmp_path_factory.mktemp("fused")
        model = fused.build(fused_config())
        with torch.no_grad():
            model.fusion.logits.copy_(torch.tensor([[0.5, 1.0], [-0.5, 0.0]]))
        fused.save(model, {**fused_config(), **extra}, d)
        return d

    return make


@pytest.fixture(scope="session")
def release_roots(tmp_path_factory) -> dict[str, Path]:
    """Tiny IEMOCAP, TED-LIUM 3 and FaceSynthetics in the layouts they are released in, made
    from real media, with no hidden truth (``tests/support/release_corpora.py``); treat as
    read-only (copy before breaking a file)."""
    import release_corpora

    return release_corpora.build(tmp_path_factory.mktemp("release"))
