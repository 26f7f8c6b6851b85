"""Speed figures of `avemo bench`: the audio front-end against openSMILE, `avemo predict`'s
real-time factor, and the default `dvc repro`'s wall time, no-op time and peak memory."""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from avemo import config


def audio_features(paths: list[Path], n_mels: int = 64) -> dict:
    """Seconds of audio per second of wall time for avemo's front-end (read + log-mel) and for
    openSMILE eGeMAPSv02 functionals (read + features) on the same files."""
    import opensmile

    from avemo.features.audio import log_mel
    from avemo.media import SAMPLE_RATE, load_audio

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    seconds = sum(len(load_audio(f)) for f in paths) / SAMPLE_RATE  # also warms the file cache
    t = time.perf_counter()
    for f in paths:
        log_mel(load_audio(f), n_mels)
    avemo_s = time.perf_counter() - t
    t = time.perf_counter()
    for f in paths:
        smile.process_signal(load_audio(f), SAMPLE_RATE)
    smile_s = time.perf_counter() - t
    return {"files": len(paths), "audio_s": round(seconds, 1), "avemo_x_realtime": round(seconds / avemo_s, 1),
            "opensmile_x_realtime": round(seconds / smile_s, 1),
            "audio_features_x_opensmile": round(smile_s / avemo_s, 1)}


def looped_video(p: config.Params, seconds: float, out: Path) -> Path:
    """A test-split dialog of the embedded corpus (both actors, its audio) looped to ``seconds``."""
    from avemo import media
    from avemo.data.synthetic.media import write_avi

    session = sorted(Path(p.ingest.iemocap).glob("Session*"))[-1]
    avi = sorted((session / "dialog/avi/DivX").glob("*.avi"))[0]
    frames, fps = media.read_rgb(avi)
    wave = media.read_audio(avi, 0.0, media.probe(avi).duration_s)
    looped = (frames[k % len(frames)] for k in range(round(seconds * fps)))  # streamed, never stacked
    write_avi(out, looped, round(fps), np.resize(wave, round(seconds * 16000)), 16000)
    return out


def predict(p: config.Params, params: Path, seconds: float = 60.0, repeats: int = 3, command: bool = True) -> dict:
    """`avemo predict` on a ``seconds`` video: the pipeline with the model loaded (as a service
    runs it) and, with ``command``, the whole command (interpreter, imports, model, outputs)."""
    import torch

    from avemo.serve import predict as predict_mod
    from avemo.serve.pipeline import Pipeline

    with tempfile.TemporaryDirectory() as tmp:
        video = looped_video(p, seconds, Path(tmp) / "bench.avi")
        pipe = Pipeline.from_dir(predict_mod.model_dir(p), p.predict)
        pipe.predict_file(video)  # warm-up: first-call allocations
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            result = pipe.predict_file(video)
            times.append(time.perf_counter() - t)
        cli = []
        for _ in range(repeats if command else 0):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "avemo.cli", "predict", str(video), "--out", tmp, "--params",
                            str(params)], check=True, capture_output=True)
            cli.append(time.perf_counter() - t)
    wall = statistics.median(times)
    out = {"seconds": seconds, "windows": len(result.series), "streams": sorted(set(result.series["streams"])),
           "window_s": p.predict.window_s, "hop_s": p.predict.hop_s, "model": str(predict_mod.model_dir(p)),
           "pipeline_s": round(wall, 3), "realtime_x": round(seconds / wall, 1),
           "threads": torch.get_num_threads(), "repeats": repeats}
    if cli:
        out |= {"command_s": round(statistics.median(cli), 3),
                "command_realtime_x": round(seconds / statistics.median(cli), 1),
                # the `avemo predict` processes' peak memory: bounded by predict.chunk_s, not the file
                "command_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}
    return out


def repro() -> dict:
    """The default pipeline from scratch (`dvc repro --force`), then a no-op `dvc repro`; wall
    times and the peak resident memory of any one process."""
    t = time.perf_counter()
    subprocess.run(["dvc", "repro", "--force"], check=True, capture_output=True)
    full = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run(["dvc", "repro"], check=True, capture_output=True)
    noop = time.perf_counter() - t
    return {"repro_s": round(full, 1), "noop_repro_s": round(noop, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}
