"""Load benchmark of the BentoML service on loopback (a script, not a test).

    uv run python benchmarks/serve_load.py [--seconds 60] [--clients 4]

Needs `dvc repro` first (the packaged champion in serve.bentoml_home). Starts `bentoml serve`
on 127.0.0.1, measures the latency of a 4 s audio-visual clip cut from a test-split dialog
(sequential requests: p50 / p95), then runs ``--clients`` concurrent clients for
``--seconds`` with a mix of good requests and bad uploads (empty, not media, wrong extension,
over the size limit, audio too short, video without a face), and records the status counts,
throughput and the server's memory growth (resident memory of the server process tree after
warm-up and at the end) into ``reports/serve_bench.json``.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import psutil
import soundfile as sf
import typer

from avemo import config
from avemo.data.synthetic.media import write_avi
from avemo.features.video import read_frames
from avemo.io import write_json
from avemo.serve import media


def clips(p: config.Params, out: Path) -> dict[str, tuple[str, bytes]]:
    """The good 4 s clip and the bad uploads, as (file name, bytes)."""
    session = sorted(Path(p.ingest.iemocap).glob("Session*"))[-1]
    avi = sorted((session / "dialog/avi/DivX").glob("*.avi"))[0]
    frames, fps = read_frames(avi, 0.0, 4.0)
    write_avi(out / "clip.avi", iter(frames), round(fps), media.read_audio(avi, 0.0, 4.0), 16000)
    sf.write(out / "short.wav", media.read_audio(avi, 0.0, 0.2), 16000)
    wall = np.full_like(frames, 120)
    write_avi(out / "wall.avi", iter(wall), round(fps), np.zeros(0, np.float32), 16000)
    over = int((p.serve.max_upload_mb + 1) * 2**20)
    return {"good": ("clip.avi", (out / "clip.avi").read_bytes()),
            "empty": ("empty.mp4", b""), "not_media": ("clip.mp4", random.Random(0).randbytes(20000)),
            "extension": ("clip.txt", b"hello"), "too_big": ("big.wav", b"\0" * over),
            "too_short": ("short.wav", (out / "short.wav").read_bytes()),
            "no_face": ("wall.avi", (out / "wall.avi").read_bytes())}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    return sum(q.memory_info().rss for q in [proc, *proc.children(recursive=True)]) / 2**20


def _post(client: httpx.Client, url: str, name: str, body: bytes) -> int:
    return client.post(f"{url}/predict", files={"media": (name, body)}, timeout=120).status_code


def main(seconds: float = 60.0, clients: int = 4, latency_requests: int = 50, bad_share: float = 0.3,
         params: Path = Path(config.DEFAULT_PARAMS), report: Path | None = None) -> None:
    p = config.load(params)
    report = report or Path(p.serve.report).with_name("serve_bench.json")
    env = {**os.environ, "BENTOML_HOME": str(Path(p.serve.bentoml_home).resolve())}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "bentoml", "serve", "avemo.serve.service:Avemo", "--host",
                               "127.0.0.1", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with tempfile.TemporaryDirectory() as tmp, httpx.Client() as client:
            files = clips(p, Path(tmp))
            for _ in range(240):
                try:
                    if client.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.5)
            for _ in range(5):  # warm-up
                _post(client, url, *files["good"])
            latencies = []
            for _ in range(latency_requests):
                t = time.perf_counter()
                assert _post(client, url, *files["good"]) == 200
                latencies.append((time.perf_counter() - t) * 1000)
            rss_start = _rss_mb(server.pid)
            counts: Counter = Counter()
            by_kind: Counter = Counter()
            lock = threading.Lock()
            stop = time.perf_counter() + seconds

            def worker(seed: int) -> None:
                rng = random.Random(seed)
                bad = [k for k in files if k != "good"]
                with httpx.Client() as c:
                    while time.perf_counter() < stop:
                        kind = rng.choice(bad) if rng.random() < bad_share else "good"
                        try:
                            status = _post(c, url, *files[kind])
                        except httpx.HTTPError as err:
                            status = type(err).__name__
                        with lock:
                            counts[str(status)] += 1
                            by_kind[f"{kind}:{status}"] += 1

            t0 = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            rss_end = _rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    q = statistics.quantiles(latencies, n=20)
    total = sum(counts.values())
    figures = {
        "clip_s": 4.0, "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(q[18], 1),
        "rps": round(total / elapsed, 2), "requests": total, "clients": clients, "seconds": round(elapsed, 1),
        "status_counts": dict(sorted(counts.items())), "by_kind": dict(sorted(by_kind.items())),
        "server_5xx": sum(v for k, v in counts.items() if k.startswith("5")),
        "rss_start_mb": round(rss_start, 1), "rss_end_mb": round(rss_end, 1),
        "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 2), "cpus": os.cpu_count(),
    }
    write_json(report, figures)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    typer.run(main)
