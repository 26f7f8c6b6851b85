"""Does FaceSynthetics ingest and data validation scale to the real release? The release,
``dataset_100000/``, is one flat folder of 100,000 images x 3 files (``{id:06d}.png``,
``{id:06d}_ldmks.txt`` with 70 ``x y`` lines, ``{id:06d}_seg.png``): 300,000 files.

    uv run python benchmarks/facesynthetics_scale.py [--images 100000] [--image-px 128] [--keep DIR]

Generates a folder of that layout with ``--images`` images (a handful of distinct face-like
PNGs, label maps and landmark files written as byte copies, plus a few macOS ``._*`` files)
in a temporary folder (``--keep DIR`` writes it to DIR and keeps it), then runs each step in
a fresh process, so that each step's peak resident memory is its own:

- ingest: ``avemo.data.facesynthetics.read`` + the manifest parquet (``manifest.write``);
- validate: ``avemo.validation.run.run`` on that manifest (the GX suite, then every image
  decoded with ``validate.workers`` threads) + ``run.write``.

Peak memory is the process's high-water resident set (``VmHWM``: the spawned process's own,
which ``ru_maxrss`` is not, as it also counts the parent it was started from; ``ru_maxrss``
where there is no /proc). The generated images are small (``--image-px``), so decoding them
is cheaper than the release's 512 x 512 renders: the report also times the decoding of one
512 x 512 face-like PNG, to extrapolate (``decode_ms_per_512px_png`` x images / workers).

Writes ``reports/facesynthetics_scale.json`` (or ``--report``) and prints it.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
import typer

from avemo import config
from avemo.io import write_json

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = 8  # distinct images the corpus cycles through
N_LANDMARKS = 70
MACOS_JUNK = 3  # images that get AppleDouble ``._`` siblings, as a copy from macOS leaves
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00" + b"Mac OS X        " + bytes(4070)


# --- the corpus ----------------------------------------------------------------------------


def face(px: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A face-like BGR image, its label map (0 background .. 6) and 70 (x, y) landmarks.

    Textured (noise on every layer) so that its PNG is not trivially compressible, as the
    release's renders are not.
    """
    rng = np.random.default_rng(seed)
    s = px / 128.0
    ramp = np.linspace(0, 1, px, dtype=np.float32)[:, None, None]
    top, bottom = rng.uniform(40, 220, 3), rng.uniform(40, 220, 3)
    img = (top * (1 - ramp) + bottom * ramp) * np.ones((1, px, 1), np.float32)
    seg = np.zeros((px, px), np.uint8)
    cx, cy = px / 2 + rng.uniform(-6, 6) * s, px / 2 + rng.uniform(-4, 8) * s
    ax, ay = rng.uniform(34, 42) * s, rng.uniform(44, 52) * s
    skin = rng.uniform([60, 90, 140], [150, 180, 235])
    centre = (round(cx), round(cy))

    def ellipse(c, axes, colour, label):
        c, axes = tuple(round(float(v)) for v in c), tuple(round(float(v)) for v in axes)
        cv2.ellipse(img, c, axes, 0, 0, 360, tuple(float(v) for v in colour), -1, cv2.LINE_AA)
        cv2.ellipse(seg, c, axes, 0, 0, 360, label, -1)

    ellipse((cx, cy - ay * 0.35), (ax * 1.08, ay * 0.75), rng.uniform(10, 90, 3), 6)  # hair
    ellipse(centre, (ax, ay), skin, 1)
    eyes = [(cx - ax * 0.4, cy - ay * 0.15), (cx + ax * 0.4, cy - ay * 0.15)]
    for ex, ey in eyes:
        ellipse((ex, ey), (ax * 0.2, ay * 0.08), (235, 235, 235), 2)
        ellipse((ex, ey), (ax * 0.08, ax * 0.08), rng.uniform(20, 120, 3), 3)
        ellipse((ex, ey - ay * 0.18), (ax * 0.24, ay * 0.035), skin * 0.4, 4)  # brow
    ellipse((cx, cy + ay * 0.1), (ax * 0.1, ay * 0.2), skin * 0.85, 1)  # nose
    ellipse((cx, cy + ay * 0.5), (ax * 0.35, ay * 0.09), (90, 80, 170), 5)  # mouth
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 0.6 * s)
    img = np.clip(img, 0, 255).astype(np.uint8)

    # 17 jaw, 10 brows, 9 nose, 12 eyes, 20 mouth, 2 pupils (the 68 iBUG points + 2)
    jaw = [(cx + ax * np.cos(a), cy + ay * np.sin(a)) for a in np.linspace(0.1, np.pi - 0.1, 17)]
    brows = [(ex + ax * d, ey - ay * 0.18) for ex, ey in eyes for d in np.linspace(-0.22, 0.22, 5)]
    nose = [(cx, cy - ay * 0.1 + ay * 0.08 * k) for k in range(4)] + [
        (cx + ax * d, cy + ay * 0.25) for d in np.linspace(-0.12, 0.12, 5)]
    eye = [(ex + ax * 0.2 * np.cos(a), ey + ay * 0.08 * np.sin(a))
           for ex, ey in eyes for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)]
    mouth = [(cx + ax * 0.35 * np.cos(a), cy + ay * 0.5 + ay * 0.09 * np.sin(a))
             for a in np.linspace(0, 2 * np.pi, 20, endpoint=False)]
    points = np.asarray(jaw + brows + nose + eye + mouth + eyes, dtype=np.float32)
    points += rng.normal(0, 0.5 * s, points.shape).astype(np.float32)
    assert len(points) == N_LANDMARKS
    return img, seg, points


def png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def make_corpus(root: str | Path, images: int, image_px: int = 128, seed: int = 0) -> int:
    """Write a FaceSynthetics-layout folder of ``images`` images; return the files written."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    variants = []
    for v in range(VARIANTS):
        img, seg, points = face(image_px, seed * 1000 + v)
        ldmks = "".join(f"{x:.3f} {y:.3f}\n" for x, y in points).encode()
        variants.append((png(img), ldmks, png(seg)))
    for i in range(images):
        img, ldmks, seg = variants[i % VARIANTS]
        stem = f"{i:06d}"
        for name, data in ((f"{stem}.png", img), (f"{stem}_ldmks.txt", ldmks), (f"{stem}_seg.png", seg)):
            with open(root / name, "wb") as fh:
                fh.write(data)
    junk = 0
    for i in range(min(MACOS_JUNK, images)):
        for name in (f"._{i:06d}.png", f"._{i:06d}_ldmks.txt", f"._{i:06d}_seg.png"):
            (root / name).write_bytes(APPLEDOUBLE)
            junk += 1
    return 3 * images + junk


def decode_ms(data: bytes, repeats: int = 30) -> float:
    """Median milliseconds of one ``cv2.imdecode`` of a PNG (as the validation probe reads it)."""
    buf = np.frombuffer(data, np.uint8)
    cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


# --- the measured steps (each in a fresh process) -------------------------------------------


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def ingest_step(root: str, manifest_path: str) -> dict:
    """Read the folder into a manifest and write it (the ingest stage's FaceSynthetics part)."""
    from avemo.data import facesynthetics, manifest

    base = _rss_mb()
    t0 = time.perf_counter()
    df, missing = facesynthetics.read(root)
    manifest.write(df, manifest_path)
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(_peak_rss_mb(), 1),
            "start_rss_mb": round(base, 1), "rows": len(df), "images_without_landmarks": missing}


def validate_step(root: str, cfg_fields: dict) -> dict:
    """Validate the manifest (GX suite, then every image decoded) and write the outputs."""
    from avemo.config import ValidateConfig
    from avemo.validation import run as validation

    cfg = ValidateConfig(**cfg_fields)
    base = _rss_mb()
    marks: dict[str, float] = {}

    def progress(done: int, total: int) -> None:
        if done == 0:  # the suite has run; the probes start
            marks["probe"], marks["suite_peak"] = time.perf_counter(), _peak_rss_mb()

    t0 = time.perf_counter()
    result = validation.run(cfg, {"facesynthetics": root}, progress=progress)
    t1 = time.perf_counter()
    success = result.success
    with contextlib.suppress(validation.ValidationFailed):  # reports written; success says so
        validation.write(result, cfg)
    t2 = time.perf_counter()
    probe_start = marks.get("probe", t0)
    return {"seconds": round(t2 - t0, 2), "suite_seconds": round(probe_start - t0, 2),
            "probe_seconds": round(t1 - probe_start, 2), "write_seconds": round(t2 - t1, 2),
            "peak_rss_mb": round(_peak_rss_mb(), 1), "start_rss_mb": round(base, 1),
            "suite_peak_rss_mb": round(marks.get("suite_peak", float("nan")), 1),
            "files_decoded": result.report["checked"]["files"], "success": success,
            "failures": len(result.report["failures"]), "workers": cfg.workers}


def in_fresh_process(fn, *args) -> dict:
    """``fn(*args)`` in a newly spawned interpreter (its own peak memory)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def measure(images: int, image_px: int = 128, workers: int = 2, keep: Path | None = None,
            expectations_dir: str | Path = ROOT / "expectations") -> dict:
    """Generate the corpus, then ingest and validate it; the figures (without the report file)."""
    with tempfile.TemporaryDirectory(prefix="facesynthetics_scale.") as tmp:
        work = Path(tmp)
        corpus = Path(keep) if keep else work / "dataset"
        if corpus.exists() and any(corpus.iterdir()):
            raise typer.BadParameter(f"{corpus} is not empty; --keep needs a new or empty folder")
        t0 = time.perf_counter()
        files = make_corpus(corpus, images, image_px)
        generate_s = time.perf_counter() - t0
        interim = work / "interim"
        ingest = in_fresh_process(ingest_step, str(corpus), str(interim / "facesynthetics.parquet"))
        cfg_fields = {"manifests_dir": str(interim), "out_dir": str(work / "validated"),
                      "expectations_dir": str(expectations_dir), "workers": workers,
                      "report": str(work / "validation.json"), "report_md": str(work / "validation.md")}
        validate = in_fresh_process(validate_step, str(corpus), cfg_fields)
    big, _, _ = face(512, 1)
    big_png, small_png = png(big), png(face(image_px, 0)[0])
    return {
        "images": images, "files": files, "image_px": image_px, "generate_seconds": round(generate_s, 2),
        "ingest": ingest, "validate": validate,
        "decode_ms_per_512px_png": round(decode_ms(big_png), 3), "png_512px_bytes": len(big_png),
        f"decode_ms_per_{image_px}px_png": round(decode_ms(small_png), 3),
        f"png_{image_px}px_bytes": len(small_png),
        "python": platform.python_version(), "cpus": os.cpu_count(),
    }


def main(images: int = 100_000, image_px: int = 128, workers: int | None = None,
         keep: Path | None = None, params: Path = Path(config.DEFAULT_PARAMS),
         report: Path = Path("reports/facesynthetics_scale.json")) -> None:
    if workers is None:
        workers = config.load(params).validate_.workers
    figures = measure(images, image_px, workers, keep)
    write_json(report, figures)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    typer.run(main)
