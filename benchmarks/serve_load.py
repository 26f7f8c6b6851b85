"""Load benchmark of the BentoML service on loopback (a script, not a test).

    uv run python benchmarks/serve_load.py [--seconds 60] [--clients 4] [--workers 1 --workers 2]

Needs `dvc repro` first (the packaged champion in serve.bentoml_home). For each ``--workers``
count (BentoML's ``services.avemo.workers``, set through ``BENTOML_CONFIG_OPTIONS``) it starts
`bentoml serve` on 127.0.0.1, measures the latency of a 4 s audio-visual clip cut from a
test-split dialog (sequential requests: p50 / p95), then runs ``--clients`` concurrent clients
for ``--seconds`` with a mix of good requests and bad ones: empty, not media, wrong extension,
over the size limit, audio too short, video without a face, the file under a wrong form field,
a few frames with timestamps stretched over an hour (slow media), and audio with non-finite
samples. It records the status counts, throughput, the good requests' p95 under that load and
the server's memory growth (resident memory of the server process tree after warm-up and at
the end) into ``reports/serve_bench.json``: the first worker count's figures at the top level,
every count's under ``by_workers``.
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
from typing import Annotated

import httpx
import numpy as np
import psutil
import soundfile as sf
import typer

from avemo import config, media
from avemo.data.synthetic.media import write_avi
from avemo.io import write_json


def clips(p: config.Params, out: Path) -> dict[str, tuple[str, bytes]]:
    """The good 4 s clip and the bad uploads, as (file name, bytes)."""
    session = sorted(Path(p.ingest.iemocap).glob("Session*"))[-1]
    avi = sorted((session / "dialog/avi/DivX").glob("*.avi"))[0]
    frames, fps = media.read_rgb(avi, 0.0, 4.0)
    write_avi(out / "clip.avi", iter(frames), round(fps), media.read_audio(avi, 0.0, 4.0), 16000)
    sf.write(out / "short.wav", media.read_audio(avi, 0.0, 0.2), 16000)
    wall = np.full_like(frames, 120)
    write_avi(out / "wall.avi", iter(wall), round(fps), np.zeros(0, np.float32), 16000)
    over = int((p.serve.max_upload_mb + 1) * 2**20)
    stretched(out / "stretched.mp4")
    broken = media.read_audio(avi, 0.0, 4.0)
    broken[: len(broken) // 2] = np.nan
    sf.write(out / "nan.wav", broken, 16000, subtype="FLOAT")
    return {"good": ("clip.avi", (out / "clip.avi").read_bytes()),
            "wrong_field": ("clip.avi", (out / "clip.avi").read_bytes()),  # sent as `file`, not `media`
            "slow_media": ("stretched.mp4", (out / "stretched.mp4").read_bytes()),
            "non_finite": ("nan.wav", (out / "nan.wav").read_bytes()),
            "empty": ("empty.mp4", b""), "not_media": ("clip.mp4", random.Random(0).randbytes(20000)),
            "extension": ("clip.txt", b"hello"), "too_big": ("big.wav", b"\0" * over),
            "too_short": ("short.wav", (out / "short.wav").read_bytes()),
            "no_face": ("wall.avi", (out / "wall.avi").read_bytes())}


def stretched(path: Path) -> None:
    """Three frames whose timestamps stretch over an hour (about 1 KB)."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream("mpeg4", rate=10)
        vs.width, vs.height, vs.pix_fmt, vs.time_base = 64, 48, "yuv420p", Fraction(1, 10)
        for k in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 60 * k, np.uint8), format="rgb24")
            frame.pts, frame.time_base = k * 18000, Fraction(1, 10)
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    return sum(q.memory_info().rss for q in [proc, *proc.children(recursive=True)]) / 2**20


def _post(client: httpx.Client, url: str, name: str, body: bytes, field: str = "media") -> int:
    return client.post(f"{url}/predict", files={field: (name, body)}, timeout=120).status_code


def main(seconds: float = 60.0, clients: int = 4, latency_requests: int = 50, bad_share: float = 0.3,
         workers: Annotated[list[int] | None, typer.Option(help="BentoML worker counts to measure (default 1 and 2)")] = None,
         params: Path = Path(config.DEFAULT_PARAMS), report: Path | None = None) -> None:
    workers = workers or [1, 2]
    p = config.load(params)
    report = report or Path(p.serve.report).with_name("serve_bench.json")
    runs = {str(w): run(p, w, seconds, clients, latency_requests, bad_share) for w in workers}
    first = runs[str(workers[0])]
    figures = {**first, "workers": workers[0],
               "by_workers": {w: {k: r[k] for k in ("rps", "requests", "p50_ms", "p95_ms", "good_p95_ms_under_load",
                                                    "server_5xx", "rss_growth_pct")} for w, r in runs.items()}}
    write_json(report, figures)
    print(json.dumps(figures, indent=1))


def run(p: config.Params, workers: int, seconds: float, clients: int, latency_requests: int,
        bad_share: float) -> dict:
    env = {**os.environ, "BENTOML_HOME": str(Path(p.serve.bentoml_home).resolve()),
           "BENTOML_CONFIG_OPTIONS": f"services.avemo.workers={workers}"}
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
            # warm-up: concurrent requests, so that every worker has served some before memory is read
            from concurrent.futures import ThreadPoolExecutor

            def warm(_: int) -> int:
                with httpx.Client() as c:
                    return _post(c, url, *files["good"])

            with ThreadPoolExecutor(max(clients, 2 * workers)) as pool:
                list(pool.map(warm, range(10 * workers)))
            latencies = []
            for _ in range(latency_requests):
                t = time.perf_counter()
                assert _post(client, url, *files["good"]) == 200
                latencies.append((time.perf_counter() - t) * 1000)
            rss_start = _rss_mb(server.pid)
            counts: Counter = Counter()
            by_kind: Counter = Counter()
            good_ms: list[float] = []
            lock = threading.Lock()
            stop = time.perf_counter() + seconds

            def worker(seed: int) -> None:
                rng = random.Random(seed)
                bad = [k for k in files if k != "good"]
                with httpx.Client() as c:
                    while time.perf_counter() < stop:
                        kind = rng.choice(bad) if rng.random() < bad_share else "good"
                        t = time.perf_counter()
                        try:
                            status = _post(c, url, *files[kind], field="file" if kind == "wrong_field" else "media")
                        except httpx.HTTPError as err:
                            status = type(err).__name__
                        with lock:
                            counts[str(status)] += 1
                            by_kind[f"{kind}:{status}"] += 1
                            if kind == "good":
                                good_ms.append((time.perf_counter() - t) * 1000)

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
    return {
        "clip_s": 4.0, "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(q[18], 1),
        "good_p95_ms_under_load": round(statistics.quantiles(good_ms, n=20)[18], 1),
        "rps": round(total / elapsed, 2), "requests": total, "clients": clients, "seconds": round(elapsed, 1),
        "status_counts": dict(sorted(counts.items())), "by_kind": dict(sorted(by_kind.items())),
        "server_5xx": sum(v for k, v in counts.items() if k.startswith("5")),
        "rss_start_mb": round(rss_start, 1), "rss_end_mb": round(rss_end, 1),
        "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 2), "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    typer.run(main)
