"""The features stage: validated manifests -> the feature store (see :mod:`store`).

``run(cfg, manifests_dir, roots)`` reads ``<manifests_dir>/<corpus>.parquet`` and extracts

- **iemocap** (train / val / test): log-mel of each utterance wav, and grey face crops of the
  speaker's half of the dialog video over ``[start_s, end_s)``;
- **tedlium** (unlabelled): log-mel of each ``[start_s, end_s)`` segment of its talk;
- **facesynthetics** (unlabelled): one face crop per image, through the very same Haar
  tracker (so the visual front-end is the same at train and serve time);

writes ``<out_dir>/<corpus>/<split>.{safetensors,parquet}`` (index rows in manifest order,
plus a ``face_rate`` column: the clip's fraction of frames with a detection) and
``<out_dir>/audio_stats.safetensors`` from the IEMOCAP **train** split only. Everything is
written to a temporary folder that replaces ``out_dir`` only when the whole run succeeded.

Work fans out over ``cfg.workers`` forked processes, one task per dialog video (decoded
once), per talk, or per chunk of images. ``run`` returns the report; ``write_report`` saves it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from avemo import media
from avemo.config import FeaturesConfig
from avemo.data import facesynthetics, manifest
from avemo.data.errors import IngestError
from avemo.features import audio, store, video
from avemo.io import atomic_dir, write_json

CORPORA = ("iemocap", "tedlium", "facesynthetics")
SPLITS = {"iemocap": ("train", "val", "test"), "tedlium": ("unlabelled",), "facesynthetics": ("unlabelled",)}
STREAMS = {"iemocap": ("audio", "video"), "tedlium": ("audio",), "facesynthetics": ("video",)}
STATS_FROM = ("iemocap", "train")
IMAGES_PER_TASK = 100


class FeaturesError(RuntimeError):
    """The stage cannot run on its inputs (a missing manifest, an unknown speaker side ...)."""


@dataclass(frozen=True)
class Clip:
    row: int  # position in the corpus manifest
    audio: str | None
    video: str | None
    start_s: float | None
    end_s: float | None
    side: str | None = None  # IEMOCAP: the speaker's half of the dialog frame


@dataclass(frozen=True)
class Task:
    corpus: str
    clips: tuple[Clip, ...]
    audio_segment: bool  # read [start_s, end_s) of the audio file (TED-LIUM) or all of it


@dataclass
class Out:
    """One clip's features and timings."""

    row: int
    audio: np.ndarray | None = None  # (frames, n_mels) float16
    video: np.ndarray | None = None  # (frames, px, px) uint8
    detected: np.ndarray | None = None  # (frames,) bool
    landmarks: np.ndarray | None = None  # FaceSynthetics: (70, 2) in crop coordinates, NaN if none
    audio_s: float = 0.0  # seconds of audio
    mel_s: float = 0.0  # wall time of the log-mel step
    audio_io_s: float = 0.0  # wall time of reading + log-mel


@dataclass
class Totals:
    audio_s: float = 0.0
    mel_s: float = 0.0
    audio_io_s: float = 0.0
    frames: dict[str, int] = field(default_factory=dict)
    detected: dict[str, int] = field(default_factory=dict)
    fallback: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- inputs


def read_manifests(manifests_dir: str | Path) -> dict[str, pd.DataFrame]:
    out = {}
    for corpus in CORPORA:
        path = Path(manifests_dir) / f"{corpus}.parquet"
        if not path.is_file():
            raise FeaturesError(f"{path}: validated {corpus} manifest not found; run `avemo validate` first "
                                f"(or fix the features stage's manifests folder)")
        out[corpus] = manifest.read(path).reset_index(drop=True)
    return out


def _opt(x) -> float | None:
    return None if pd.isna(x) else float(x)


def _side(cfg: FeaturesConfig, speaker: str, clip_id: str) -> str:
    letter = str(speaker).rpartition("_")[2][:1]
    if letter not in cfg.video.speaker_side:
        raise FeaturesError(f"{clip_id}: speaker {speaker!r} has no side in features.video.speaker_side "
                            f"{dict(cfg.video.speaker_side)}")
    return cfg.video.speaker_side[letter]


def tasks(cfg: FeaturesConfig, manifests: dict[str, pd.DataFrame], roots: dict[str, str]) -> list[Task]:
    """IEMOCAP grouped by dialog video, TED-LIUM by talk, FaceSynthetics in chunks."""
    out: list[Task] = []
    for corpus in CORPORA:
        df = manifests[corpus]
        df = df[df["split"].isin(SPLITS[corpus])]
        root = Path(roots[corpus])

        def path(p, root=root):
            return None if pd.isna(p) else str(root / p)

        clips = [
            Clip(int(i), path(r.audio_path) if "audio" in STREAMS[corpus] else None,
                 path(r.video_path) if "video" in STREAMS[corpus] else None,
                 _opt(r.start_s), _opt(r.end_s),
                 _side(cfg, r.speaker, r.clip_id) if corpus == "iemocap" else None)
            for i, r in zip(df.index, df.itertuples(index=False), strict=True)
        ]
        if corpus == "facesynthetics":
            out += [Task(corpus, tuple(clips[k : k + IMAGES_PER_TASK]), False)
                    for k in range(0, len(clips), IMAGES_PER_TASK)]
            continue
        key = "video" if corpus == "iemocap" else "audio"
        groups: dict[str, list[Clip]] = {}
        for c in clips:
            groups.setdefault(getattr(c, key), []).append(c)
        out += [Task(corpus, tuple(g), corpus == "tedlium") for g in groups.values()]
    out.sort(key=lambda t: -len(t.clips))  # big tasks first: better load balance
    return out


# --------------------------------------------------------------------------- workers


def _audio(clip: Clip, segment: bool, cfg: FeaturesConfig, out: Out) -> None:
    t0 = time.perf_counter()
    x = media.load_audio(clip.audio, clip.start_s if segment else None, clip.end_s if segment else None)
    t1 = time.perf_counter()
    mel = audio.log_mel(x, cfg.audio.n_mels, cfg.audio.win_ms, cfg.audio.hop_ms)
    t2 = time.perf_counter()
    out.audio = mel.numpy().astype(np.float16)
    out.audio_s, out.mel_s, out.audio_io_s = x.size / audio.SAMPLE_RATE, t2 - t1, t2 - t0


def extract(task: Task, cfg: FeaturesConfig) -> list[Out]:
    """Features of every clip of one task."""
    outs = {c.row: Out(c.row) for c in task.clips}
    if any(c.audio for c in task.clips):
        for c in task.clips:
            _audio(c, task.audio_segment, cfg, outs[c.row])
    tracker = video.FaceTracker.from_config(cfg.video) if any(c.video for c in task.clips) else None
    if tracker is None:
        return list(outs.values())
    px = cfg.video.crop_px
    if task.corpus == "facesynthetics":
        for c in task.clips:
            grey = video.to_grey(media.read_image(c.video))[None]
            o = outs[c.row]
            boxes, o.detected = tracker.track(grey)
            o.video = video.crop_faces(grey, boxes, px)
            o.landmarks = _landmarks(c.video, boxes[0])
        return list(outs.values())
    clips = list(task.clips)

    def half(k: int, rgb: np.ndarray) -> np.ndarray:  # keep only the speaker's grey half
        return video.to_grey(video.speaker_half(rgb[None], clips[k].side)[0])

    for k, grey in media.decode_segments(clips[0].video, [(c.start_s, c.end_s) for c in clips], fn=half):
        o = outs[clips[k].row]
        boxes, o.detected = tracker.track(grey)
        o.video = video.crop_faces(grey, boxes, px)
    return list(outs.values())


def _landmarks(image: str, box: np.ndarray) -> np.ndarray:
    """A FaceSynthetics image's 70 landmarks in its crop's [-1, 1] coordinates; NaN when the
    image has no (or an unreadable) ``_ldmks.txt``: the corpus allows that, and the landmark
    auxiliary of visual pretraining skips such images."""
    path = Path(image).with_name(f"{Path(image).stem}_ldmks.txt")
    try:
        points = facesynthetics.read_landmarks(path)
    except (OSError, IngestError):
        return np.full((facesynthetics.N_LANDMARKS, 2), np.nan, np.float32)
    return video.crop_coordinates(points, box)


def _init_worker() -> None:
    """One thread per worker process: clips are the unit of parallelism (and OpenMP threads
    spinning between torch and OpenCV calls cost more than they give on short clips)."""
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


@contextmanager
def _single_thread() -> Iterator[None]:
    """``_init_worker`` for the in-process (``workers: 1``) path, restored afterwards."""
    import cv2

    t, c = torch.get_num_threads(), cv2.getNumThreads()
    _init_worker()
    try:
        yield
    finally:
        torch.set_num_threads(t)
        cv2.setNumThreads(c)


def _failed(task: Task, err: Exception) -> FeaturesError:
    first = task.clips[0].video or task.clips[0].audio
    what = f"{first}" if len(task.clips) == 1 else f"a task of {len(task.clips)} clips starting at {first}"
    return FeaturesError(f"{task.corpus}: feature extraction failed on {what}: {type(err).__name__}: {err}")


def _run_tasks(all_tasks: list[Task], cfg: FeaturesConfig, progress: Callable[[int, int], None] | None):
    total = sum(len(t.clips) for t in all_tasks)
    done = 0
    if progress:
        progress(0, total)
    if cfg.workers <= 1:
        with _single_thread():
            for t in all_tasks:
                try:
                    outs = extract(t, cfg)
                except Exception as err:
                    raise _failed(t, err) from err
                done += len(t.clips)
                if progress:
                    progress(done, total)
                yield t, outs
        return
    # forkserver, not fork: the caller may already run torch/OpenCV thread pools, and a forked
    # copy of those deadlocks; the server is a fresh interpreter with this module preloaded.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(cfg.workers, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {pool.submit(extract, t, cfg): t for t in all_tasks}
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                res = fut.result()
            except Exception as err:
                for f in futures:
                    f.cancel()
                raise _failed(t, err) from err
            yield t, res
            done += len(t.clips)
            if progress:
                progress(done, total)


# --------------------------------------------------------------------------- assembling


def _empty(stream: str, cfg: FeaturesConfig) -> np.ndarray:
    if stream == "audio":
        return np.zeros((0, cfg.audio.n_mels), np.float16)
    return np.zeros((0, cfg.video.crop_px, cfg.video.crop_px), np.uint8)


def _pack(stream: str, seqs: list[np.ndarray], cfg: FeaturesConfig) -> tuple[torch.Tensor, torch.Tensor]:
    dtype = torch.float16 if stream == "audio" else torch.uint8
    data, offsets = store.pack(seqs or [_empty(stream, cfg)], dtype)
    if not seqs:
        offsets = offsets[:1]
    return data, offsets


def mel_stats(mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and std over all frames ``(frames, n_mels)`` (float64 accumulation)."""
    x = mel.double()
    if len(x) < 2:
        raise FeaturesError(f"{STATS_FROM[0]}/{STATS_FROM[1]} has {len(x)} audio frames: "
                            f"too few for normalisation statistics")
    return x.mean(0).float(), x.std(0).clamp(min=1e-5).float()


def plan(cfg: FeaturesConfig, manifests_dir: str | Path, roots: dict[str, str]) -> tuple[dict[str, pd.DataFrame], list[Task]]:
    """The validated manifests and the extraction tasks over them (one per dialog video, talk
    or chunk of images): what a scheduler can fan out, calling :func:`extract` on each."""
    manifests = read_manifests(manifests_dir)
    return manifests, tasks(cfg, manifests, roots)


def run(
    cfg: FeaturesConfig, manifests_dir: str | Path, roots: dict[str, str],
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Extract every corpus and split into ``cfg.out_dir`` (``cfg.workers`` processes); return the report."""
    t_start = time.perf_counter()
    manifests, all_tasks = plan(cfg, manifests_dir, roots)
    return write(cfg, manifests, _run_tasks(all_tasks, cfg, progress), t_start)


def write(cfg: FeaturesConfig, manifests: dict[str, pd.DataFrame], done: Iterable[tuple[Task, list[Out]]],
          t_start: float) -> dict:
    """Gather the extracted clips (``done``: ``(task, extract(task))`` pairs, any order) into the
    store at ``cfg.out_dir``, atomically; return the report."""
    results: dict[str, dict[int, Out]] = {c: {} for c in CORPORA}
    tot = Totals()
    for task, outs in done:
        for o in outs:
            results[task.corpus][o.row] = o
            tot.audio_s += o.audio_s
            tot.mel_s += o.mel_s
            tot.audio_io_s += o.audio_io_s
            if o.detected is not None:
                c = task.corpus
                tot.frames[c] = tot.frames.get(c, 0) + len(o.detected)
                tot.detected[c] = tot.detected.get(c, 0) + int(o.detected.sum())
                tot.fallback[c] = tot.fallback.get(c, 0) + int(not o.detected.any())

    counts: dict[str, dict] = {}
    with atomic_dir(cfg.out_dir) as tmp:
        for corpus in CORPORA:
            df = manifests[corpus]
            counts[corpus] = {}
            for split in SPLITS[corpus]:
                index = df[df["split"] == split]
                outs = [results[corpus][int(i)] for i in index.index]
                tensors: dict[str, torch.Tensor] = {}
                entry = {"clips": len(index)}
                for stream in STREAMS[corpus]:
                    data, offsets = _pack(stream, [getattr(o, stream) for o in outs], cfg)
                    tensors[stream], tensors[f"{stream}_offsets"] = data, offsets
                    entry[f"{stream}_frames"] = len(data)
                index = index.reset_index(drop=True).copy()
                if "video" in STREAMS[corpus]:
                    index["face_rate"] = [float(o.detected.mean()) for o in outs]
                if corpus == "facesynthetics":
                    tensors["landmarks"] = torch.from_numpy(np.stack([o.landmarks for o in outs])) if outs \
                        else torch.zeros((0, facesynthetics.N_LANDMARKS, 2))
                store.write(tmp, corpus, split, index, tensors)
                if (corpus, split) == STATS_FROM:
                    store.write_stats(tmp, *mel_stats(tensors["audio"]))
                counts[corpus][split] = entry

    return {
        "counts": counts,
        "audio_seconds": round(tot.audio_s, 3),
        "audio_rtf": round(tot.audio_s / tot.mel_s, 1) if tot.mel_s else None,
        "audio_rtf_with_io": round(tot.audio_s / tot.audio_io_s, 1) if tot.audio_io_s else None,
        "detection_rate": {c: round(tot.detected[c] / tot.frames[c], 4) if tot.frames[c] else None
                           for c in tot.frames},
        "fallback_clips": dict(tot.fallback),
        "video_frames": dict(tot.frames),
        "stats_from": "/".join(STATS_FROM),
        "workers": cfg.workers,
        "cpus": os.cpu_count(),
        "extract_s": round(time.perf_counter() - t_start, 3),
    }


def write_report(report: dict, path: str | Path) -> None:
    write_json(path, report)
