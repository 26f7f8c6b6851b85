"""The ``synthesize`` stage: write the three embedded corpora, deterministically for a seed.

Work is split into independent tasks (one per dialog, talk or block of face images), each
with its own child seed. eSpeak NG keeps state between calls and takes ~2 s to initialise, so
a generator process initialises it once and every task runs in a process freshly forked from
that pristine state: the output does not depend on the number or order of workers. The
generator itself is *spawned* (a new interpreter), so the fork never copies thread pools that
the caller may have started (torch, OpenCV): forking those deadlocks the children.
"""

from __future__ import annotations

import csv
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from avemo.config import SynthesizeConfig
from avemo.data.synthetic import facesynthetics, iemocap, speech, tedlium
from avemo.io import atomic_dir

SESSIONS = (1, 2, 3, 4, 5)
FACE_BLOCK = 100


def _tasks(cfg: SynthesizeConfig, root: Path) -> list[tuple[Callable, tuple]]:
    size = cfg.corpus_size
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0]))
    tasks: list[tuple[Callable, tuple]] = []
    for s in SESSIONS:
        cast = iemocap.actors(rng, s)
        for d in iemocap.dialog_names(s, size.dialogs_per_session):
            tasks.append((iemocap.generate_dialog, (cfg, root / "iemocap", s, d, cast)))
    for talk in tedlium.talk_names(rng, size.talks):
        tasks.append((tedlium.generate_talk, (cfg, root / "tedlium", talk)))
    people = facesynthetics.identities(rng, size.face_identities)
    (root / "facesynthetics").mkdir(parents=True)
    for lo in range(0, size.faces, FACE_BLOCK):
        ids = range(lo, min(lo + FACE_BLOCK, size.faces))
        tasks.append((facesynthetics.generate_faces, (cfg, root / "facesynthetics", ids, people)))
    seeds = np.random.SeedSequence([cfg.seed, 1]).spawn(len(tasks))
    return [(fn, (*args, seed)) for (fn, args), seed in zip(tasks, seeds, strict=True)]


def _call(item: tuple[int, tuple[Callable, tuple]]) -> tuple[int, object]:
    i, (fn, args) = item
    return i, fn(*args)


def _write_truth(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _generate(cfg: SynthesizeConfig, root: Path, queue) -> None:
    """In the spawned generator: fork one process per task, collect results, write truth."""
    try:
        tasks = _tasks(cfg, root)
        results: list = [None] * len(tasks)
        speech.engine()  # initialised here, inherited by every forked task
        with multiprocessing.get_context("fork").Pool(cfg.workers, maxtasksperchild=1) as pool:
            for done, (i, res) in enumerate(pool.imap_unordered(_call, enumerate(tasks)), 1):
                results[i] = res
                queue.put(("progress", done, len(tasks)))
        utts, faces_truth = [], []
        for (fn, _), res in zip(tasks, results, strict=True):
            if fn is iemocap.generate_dialog:
                utts.extend(res)
            elif fn is facesynthetics.generate_faces:
                faces_truth.extend(res)
        keys = ["clip_id", "speaker", "valence", "arousal", "dominance", "expressiveness"]
        _write_truth(root / "iemocap/_truth/utterances.csv", keys, [[u[k] for k in keys] for u in utts])
        _write_truth(
            root / "facesynthetics/_truth/faces.csv",
            ["id", "identity", "valence", "arousal", "dominance"], faces_truth,
        )
        queue.put(("done", len(tasks), None))
    except BaseException as err:  # report any failure to the caller, then exit non-zero
        queue.put(("error", f"{type(err).__name__}: {err}", None))
        raise


def run(cfg: SynthesizeConfig, progress: Callable[[int, int], None] | None = None) -> dict:
    """Generate all corpora under ``cfg.out_dir`` (swapped in whole); return timing and counts."""
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with atomic_dir(Path(cfg.out_dir)) as root:
        queue = ctx.Queue()
        proc = ctx.Process(target=_generate, args=(cfg, root, queue), daemon=False)
        proc.start()
        n_tasks = 0
        while True:
            try:
                kind, a, b = queue.get(timeout=5)
            except Exception:  # queue.Empty: check the generator is still alive
                if not proc.is_alive():
                    raise RuntimeError(f"corpus generator died (exit code {proc.exitcode})") from None
                continue
            if kind == "progress" and progress:
                progress(a, b)
            elif kind == "error":
                proc.join()
                raise RuntimeError(f"corpus generation failed: {a}")
            elif kind == "done":
                n_tasks = a
                break
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"corpus generator exited with code {proc.exitcode}")
    return {"generation_s": round(time.perf_counter() - t0, 2), "tasks": n_tasks}
