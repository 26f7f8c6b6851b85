"""How fast `avemo predict` runs: real-time factor on an audio-visual video of ``--seconds``
(default 60 s), built by looping a test-split dialog of the embedded IEMOCAP-shaped corpus.

    uv run python benchmarks/predict_speed.py [--seconds 60] [--repeats 3]

Needs `dvc repro` first (the corpus and a fused model). Prints and writes
``reports/predict_speed.json`` (or ``--report``): the median wall time of ``Pipeline.predict_file`` (model loaded
once, as a service does) and of the whole `avemo predict` command (imports and model load
included), the real-time factors, and the command's peak resident memory (run it with
``--seconds 600`` too: the memory stays flat because media is read ``predict.chunk_s`` at a time).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import typer

from avemo import config
from avemo.data.synthetic.media import write_avi
from avemo.features.video import read_frames
from avemo.io import write_json
from avemo.serve import media, predict
from avemo.serve.pipeline import Pipeline


def looped_video(p: config.Params, seconds: float, out: Path) -> Path:
    """A test-split dialog (both actors, its audio) repeated to ``seconds``."""
    root = Path(p.ingest.iemocap)
    session = sorted(root.glob("Session*"))[-1]
    avi = sorted((session / "dialog/avi/DivX").glob("*.avi"))[0]
    frames, fps = read_frames(avi)
    wave = media.read_audio(avi, 0.0, media.probe(avi).duration_s)
    n_samples = round(seconds * 16000)
    looped = (frames[k % len(frames)] for k in range(round(seconds * fps)))  # streamed, never stacked
    write_avi(out, looped, round(fps), np.resize(wave, n_samples), 16000)
    return out


def main(seconds: float = 60.0, repeats: int = 3, params: Path = Path(config.DEFAULT_PARAMS),
         report: Path = Path("reports/predict_speed.json")) -> None:
    p = config.load(params)
    with tempfile.TemporaryDirectory() as tmp:
        video = looped_video(p, seconds, Path(tmp) / "bench.avi")
        pipe = Pipeline.from_dir(predict.model_dir(p), p.predict)
        pipe.predict_file(video)  # warm-up: first-call allocations, cascade load
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            result = pipe.predict_file(video)
            times.append(time.perf_counter() - t)
        cli = []
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "avemo.cli", "predict", str(video), "--out", tmp, "--params",
                            str(params)], check=True, capture_output=True)
            cli.append(time.perf_counter() - t)
    wall, cli_wall = statistics.median(times), statistics.median(cli)
    figures = {
        "seconds": seconds, "windows": len(result.series), "streams": sorted(set(result.series["streams"])),
        "window_s": p.predict.window_s, "hop_s": p.predict.hop_s, "model": str(predict.model_dir(p)),
        "pipeline_s": round(wall, 3), "realtime_x": round(seconds / wall, 1),
        "command_s": round(cli_wall, 3), "command_realtime_x": round(seconds / cli_wall, 1),
        # the `avemo predict` processes' peak resident memory: bounded by predict.chunk_s, not the file
        "command_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "threads": __import__("torch").get_num_threads(), "repeats": repeats,
    }
    write_json(report, figures)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    typer.run(main)
