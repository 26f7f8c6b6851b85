"""The feature store: a few large files per corpus and split, never one file per clip.

``<out_dir>/<corpus>/<split>.safetensors`` holds ragged sequences concatenated along time:

- ``audio``         float16 (sum of frames, n_mels)   log-mel, not normalised
- ``audio_offsets`` int64   (clips + 1,)              clip i is audio[off[i]:off[i+1]]
- ``video``         uint8   (sum of frames, px, px)   grey face crops
- ``video_offsets`` int64   (clips + 1,)

- ``landmarks``     float32 (clips, 70, 2)            FaceSynthetics only: the landmarks in the
                                                      crop's [-1, 1] coordinates (NaN: none)

A stream a corpus lacks is absent. ``<out_dir>/<corpus>/<split>.parquet`` is the index: the
manifest rows in the same order (clip_id, speaker, labels, label_source, label_weight, ...).
``<out_dir>/audio_stats.safetensors`` holds the train split's per-bin ``mean`` and ``std``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from avemo.io import atomic_path


def pack(seqs: list[np.ndarray], dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate variable-length sequences along axis 0; return (data, offsets)."""
    lengths = [len(s) for s in seqs]
    offsets = torch.zeros(len(seqs) + 1, dtype=torch.int64)
    offsets[1:] = torch.cumsum(torch.tensor(lengths, dtype=torch.int64), 0)
    data = torch.from_numpy(np.concatenate(seqs, axis=0)) if seqs else torch.zeros(0)
    return data.to(dtype).contiguous(), offsets


@dataclass
class Split:
    """One corpus split loaded in memory."""

    index: pd.DataFrame
    tensors: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.index)

    def has(self, stream: str) -> bool:
        return stream in self.tensors

    def get(self, stream: str, i: int) -> torch.Tensor:
        off = self.tensors[f"{stream}_offsets"]
        return self.tensors[stream][off[i] : off[i + 1]]

    def lengths(self, stream: str) -> torch.Tensor:
        return torch.diff(self.tensors[f"{stream}_offsets"])


def paths(out_dir: str | Path, corpus: str, split: str) -> tuple[Path, Path]:
    base = Path(out_dir) / corpus
    return base / f"{split}.safetensors", base / f"{split}.parquet"


def write(out_dir: str | Path, corpus: str, split: str, index: pd.DataFrame, tensors: dict[str, torch.Tensor]) -> None:
    tpath, ipath = paths(out_dir, corpus, split)
    for name, t in tensors.items():
        if name.endswith("_offsets") and int(t[-1]) != len(tensors[name.removesuffix("_offsets")]):
            raise ValueError(f"{name} does not match {name.removesuffix('_offsets')}")
        if name.endswith("_offsets") and len(t) != len(index) + 1:
            raise ValueError(f"{name} has {len(t) - 1} clips, index has {len(index)}")
    with atomic_path(tpath) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
    with atomic_path(ipath) as tmp:
        index.reset_index(drop=True).to_parquet(tmp, index=False)


def read(out_dir: str | Path, corpus: str, split: str) -> Split:
    tpath, ipath = paths(out_dir, corpus, split)
    if not tpath.is_file():
        raise FileNotFoundError(f"{tpath}: no features for {corpus}/{split}; run `avemo features`")
    return Split(index=pd.read_parquet(ipath), tensors=load_file(str(tpath)))


def write_stats(out_dir: str | Path, mean: torch.Tensor, std: torch.Tensor) -> None:
    with atomic_path(Path(out_dir) / "audio_stats.safetensors") as tmp:
        save_file({"mean": mean.float().contiguous(), "std": std.float().contiguous()}, str(tmp))


def read_stats(out_dir: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    t = load_file(str(Path(out_dir) / "audio_stats.safetensors"))
    return t["mean"], t["std"]
