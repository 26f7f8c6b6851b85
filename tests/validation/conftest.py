"""A tiny clean corpus on disk (three corpora + manifests) and a corrupted copy of it."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import av
import cv2
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from avemo.config import ValidateConfig
from avemo.data import manifest

ROOT = Path(__file__).resolve().parents[2]
EXPECTATIONS = ROOT / "expectations"
SR = 16000
UTT_S = 0.5

# dialog -> (session folder, split, number of turns)
DIALOGS = {
    "Ses01F_impro01": ("Session1", "train", 8),
    "Ses02F_impro01": ("Session2", "train", 3),
    "Ses04F_impro01": ("Session4", "val", 2),
    "Ses05F_impro01": ("Session5", "test", 2),
}
TALK = "TalkA_2010"
TED_SEGMENTS = [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
FACES = 3


@dataclass
class Corpus:
    base: Path
    roots: dict[str, str]
    manifests: dict[str, pd.DataFrame]

    @property
    def manifests_dir(self) -> Path:
        return self.base / "interim"

    def cfg(self, **over) -> ValidateConfig:
        fields = dict(
            manifests_dir=str(self.manifests_dir),
            out_dir=str(self.base / "validated"),
            expectations_dir=str(EXPECTATIONS),
            report=str(self.base / "reports" / "validation.json"),
            report_md=str(self.base / "reports" / "validation.md"),
            workers=2,
        )
        fields.update(over)
        return ValidateConfig(**fields)

    def save(self) -> None:
        for name, df in self.manifests.items():
            manifest.write(df, self.manifests_dir / f"{name}.parquet")

    def raw_hashes(self) -> dict[str, str]:
        raw = self.base / "raw"
        return {str(p.relative_to(raw)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(raw.rglob("*")) if p.is_file()}


def noise(seconds: float, rate: int = SR, channels: int = 1, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(0, 0.1, (int(seconds * rate), channels))
    return x.astype(np.float32) if channels > 1 else x[:, 0].astype(np.float32)


def write_avi(path: Path, seconds: float, fps: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("mjpeg", rate=fps)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj420p"
        for i in range(int(seconds * fps)):
            rgb = np.full((48, 64, 3), (i * 7) % 255, np.uint8)
            for pkt in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)


def build(base: Path) -> Corpus:
    """Write the clean corpora under ``base/raw`` and their manifests under ``base/interim``."""
    raw = base / "raw"
    roots = {c: str(raw / c) for c in ("iemocap", "tedlium", "facesynthetics")}
    rng = np.random.default_rng(0)

    iemo = []
    for dialog, (session, split, turns) in DIALOGS.items():
        root = Path(roots["iemocap"])
        write_avi(root / session / "dialog/avi/DivX" / f"{dialog}.avi", turns * 1.0 + 0.5)
        for k in range(turns):
            who = "FM"[k % 2]
            utt = f"{dialog}_{who}{k:03d}"
            audio = f"{session}/sentences/wav/{dialog}/{utt}.wav"
            (root / audio).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / audio, noise(UTT_S, seed=k), SR, subtype="PCM_16")
            v, a, d = (float(x) for x in rng.integers(2, 9, 3) / 2.0)  # 1..4.5 half steps
            iemo.append({
                "clip_id": utt, "corpus": "iemocap", "speaker": f"{dialog[:5]}_{who}",
                "session": session, "split": split, "audio_path": audio,
                "video_path": f"{session}/dialog/avi/DivX/{dialog}.avi",
                "start_s": float(k), "end_s": k + UTT_S, "duration_s": UTT_S, "sample_rate": SR,
                "valence": (v - 3) / 2, "arousal": (a - 3) / 2, "dominance": (d - 3) / 2,
                "label_source": "gold", "label_weight": 1.0, "category": "neu",
            })

    ted_root = Path(roots["tedlium"])
    (ted_root / "data/sph").mkdir(parents=True)
    sf.write(ted_root / f"data/sph/{TALK}.sph", noise(3.0, seed=9), SR, format="NIST",
             subtype="PCM_16")
    ted = [{
        "clip_id": f"{TALK}-{round(s * 100):07d}-{round(e * 100):07d}", "corpus": "tedlium",
        "speaker": TALK, "session": TALK, "split": "unlabelled",
        "audio_path": f"data/sph/{TALK}.sph", "video_path": None,
        "start_s": s, "end_s": e, "duration_s": e - s, "sample_rate": SR,
        "valence": np.nan, "arousal": np.nan, "dominance": np.nan,
        "label_source": "none", "label_weight": 0.0, "category": None,
    } for s, e in TED_SEGMENTS]

    face_root = Path(roots["facesynthetics"])
    face_root.mkdir(parents=True)
    faces = []
    for i in range(FACES):
        img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
        cv2.imwrite(str(face_root / f"{i:06d}.png"), img)
        faces.append({
            "clip_id": f"{i:06d}", "corpus": "facesynthetics", "speaker": None, "session": None,
            "split": "unlabelled", "audio_path": None, "video_path": f"{i:06d}.png",
            "start_s": np.nan, "end_s": np.nan, "duration_s": np.nan, "sample_rate": None,
            "valence": np.nan, "arousal": np.nan, "dominance": np.nan,
            "label_source": "none", "label_weight": 0.0, "category": None,
        })

    corpus = Corpus(base, roots, {
        "iemocap": manifest.to_frame(iemo), "tedlium": manifest.to_frame(ted),
        "facesynthetics": manifest.to_frame(faces),
    })
    corpus.save()
    return corpus


# What each corruption targets: name -> the clip id or file name a failure message must name.
D1 = "Ses01F_impro01"
CORRUPTIONS = {
    "truncated_wav": f"{D1}_F000",
    "wrong_rate": f"{D1}_M001",
    "stereo": f"{D1}_F002",
    "zero_length": f"{D1}_M003",
    "not_audio": f"{D1}_F004",
    "missing_file": f"{D1}_M005",
    "nan_label": f"{D1}_F006",
    "out_of_range": f"{D1}_M007",
    "duplicate": "Ses05F_impro01_F000",
    "speaker_two_splits": "Ses02F_impro01_F000",
    "bad_video": "Ses04F_impro01.avi",
    "bad_image": "000001.png",
}
BAD_VIDEO_CLIPS = ("Ses04F_impro01_F000", "Ses04F_impro01_M001")
GOOD_IEMOCAP = ("Ses05F_impro01_M001", "Ses02F_impro01_M001")


def corrupt(c: Corpus) -> None:
    """Break the clean corpus in every way the validate stage must catch."""
    iemo = Path(c.roots["iemocap"])
    df = c.manifests["iemocap"].copy()

    def row(clip: str) -> int:
        return int(df.index[df["clip_id"] == clip][0])

    def audio(clip: str) -> Path:
        return iemo / df.at[row(clip), "audio_path"]

    p = audio(CORRUPTIONS["truncated_wav"])
    p.write_bytes(p.read_bytes()[: 44 + 3000])
    p = audio(CORRUPTIONS["wrong_rate"])
    sf.write(p, noise(UTT_S, rate=8000), 8000, subtype="PCM_16")
    df.at[row(CORRUPTIONS["wrong_rate"]), "sample_rate"] = 8000  # as the reader would record
    sf.write(audio(CORRUPTIONS["stereo"]), noise(UTT_S, channels=2), SR, subtype="PCM_16")
    sf.write(audio(CORRUPTIONS["zero_length"]), np.zeros(0, np.float32), SR, subtype="PCM_16")
    audio(CORRUPTIONS["not_audio"]).write_bytes(b"this is not audio at all\n" * 100)
    audio(CORRUPTIONS["missing_file"]).unlink()
    df.at[row(CORRUPTIONS["nan_label"]), "valence"] = np.nan
    df.at[row(CORRUPTIONS["out_of_range"]), "valence"] = 1.7
    dup = df.loc[[row(CORRUPTIONS["duplicate"])]].copy()
    dup["start_s"] = 5.0
    dup["end_s"] = 5.5
    df = pd.concat([df, dup], ignore_index=True)
    df.at[row(CORRUPTIONS["speaker_two_splits"]), "split"] = "val"
    (iemo / "Session4/dialog/avi/DivX" / CORRUPTIONS["bad_video"]).write_bytes(
        np.random.default_rng(1).bytes(4000))
    c.manifests["iemocap"] = df.astype(manifest.SCHEMA)

    face = Path(c.roots["facesynthetics"]) / CORRUPTIONS["bad_image"]
    face.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    c.save()


@pytest.fixture(scope="module")
def clean_corpus(tmp_path_factory) -> Corpus:
    return build(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory) -> Corpus:
    c = build(tmp_path_factory.mktemp("bad"))
    corrupt(c)
    return c


def fresh_copy(c: Corpus, dst: Path) -> Corpus:
    """A copy of a corpus (files and manifests) under ``dst``, for tests that write outputs."""
    shutil.copytree(c.base, dst, dirs_exist_ok=True)
    roots = {k: str(dst / Path(v).relative_to(c.base)) for k, v in c.roots.items()}
    return Corpus(dst, roots, {k: v.copy() for k, v in c.manifests.items()})


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """This folder's helpers and constants (tests run with --import-mode=importlib, so test
    modules cannot import conftest)."""
    return SimpleNamespace(
        SR=SR, EXPECTATIONS=EXPECTATIONS, CORRUPTIONS=CORRUPTIONS, BAD_VIDEO_CLIPS=BAD_VIDEO_CLIPS,
        GOOD_IEMOCAP=GOOD_IEMOCAP, noise=noise, write_avi=write_avi, fresh_copy=fresh_copy,
        build=build, corrupt=corrupt,
    )
