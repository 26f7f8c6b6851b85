"""`avemo bench`: one table of avemo beside its peers and the oracle (test split), and its
speed -> ``reports/bench.json`` and ``reports/bench.md``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from avemo.bench import peers, speed
from avemo.config import BenchConfig, Params
from avemo.models import fused
from avemo.tables import markdown_table

KEYS = ("ccc_valence", "ccc_arousal", "ccc_mean")


def _test(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / fused.CONFIG).read_text())["scores"]["test"]


def accuracy(p: Params, test_ids, progress=None) -> dict:
    """avemo's streams and fusion (the best fused model and the stream models it fuses), the
    three peers, the oracle, and the oracle as each speaker shows it (``oracle_shown``: the
    ceiling of a speaker-independent model), all on the same test split (clips ``test_ids``)."""
    from avemo.evaluate.stage import oracle
    from avemo.serve.predict import model_dir

    best = model_dir(p)
    cfg = json.loads((best / fused.CONFIG).read_text())
    metrics = json.loads(Path(p.evaluate.report).read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ill-conditioned ridge solves at the weakest strengths
        peer = peers.run(p.features.out_dir, p.ingest.iemocap, p.train.video_frame_step, progress)
    return {"avemo_audio": _test(cfg["streams"]["audio"]["run_dir"]),
            "avemo_visual": _test(cfg["streams"]["visual"]["run_dir"]),
            "avemo_fused": cfg["scores"]["test"] | {"model": str(best)}, **peer, "oracle": metrics.get("oracle"),
            "oracle_shown": oracle(p, test_ids, shown=True)}  # None for both on a corpus without hidden truth


def checks(report: dict, cfg: BenchConfig) -> dict:
    """The bench's headline figures, each against its target in ``cfg`` (``bench.targets``)."""
    acc, out = report["accuracy"], {}
    out["audio_arousal_minus_egemaps"] = acc["avemo_audio"]["ccc_arousal"] - acc["egemaps_ridge"]["ccc_arousal"]
    best_peer = max(acc[k]["ccc_mean"] for k in ("egemaps_ridge", "hog_ridge", "egemaps_hog_ridge"))
    out["fused_minus_best_peer"] = acc["avemo_fused"]["ccc_mean"] - best_peer
    if acc["oracle"]:
        out["fused_over_oracle"] = acc["avemo_fused"]["ccc_mean"] / acc["oracle"]["ccc_mean"]
    out["audio_features_x_opensmile"] = report["speed"]["audio"]["audio_features_x_opensmile"]
    if report.get("pipeline"):
        out["repro_s"] = report["pipeline"]["repro_s"]
    met = {k: out[k] >= t for k, t in cfg.targets.items() if k in out}
    if "repro_s" in out:
        met["repro_s"] = out["repro_s"] <= cfg.max_repro_s
    return {"figures": {k: round(v, 4) for k, v in out.items()}, "met": met}


def run(p: Params, params: Path, *, repro: bool = False, command: bool = True, previous: dict | None = None,
        progress=None) -> dict:
    from avemo.features import store

    # the pipeline first: `dvc repro --force` rewrites the models the other figures score
    pipeline = speed.repro() if repro else (previous or {}).get("pipeline")
    test = store.read(p.features.out_dir, "iemocap", "test").index
    report = {"accuracy": accuracy(p, test["clip_id"], progress),
              "speed": {"audio": speed.audio_features([Path(p.ingest.iemocap) / a for a in test["audio_path"]],
                                                      p.features.audio.n_mels),
                        "predict": speed.predict(p, params, command=command)},
              "pipeline": pipeline}
    report["checks"] = checks(report, p.bench)
    return report


def table(report: dict) -> str:
    acc = report["accuracy"]
    rows = [[name, *(f"{s[k]:.3f}" for k in KEYS)] for name, s in acc.items()
            if s is not None]  # None: the oracles, on a corpus without hidden truth
    sp, pred = report["speed"]["audio"], report["speed"]["predict"]
    speed = [["audio features: avemo log-mel vs openSMILE eGeMAPS",
              f"{sp['audio_features_x_opensmile']}x ({sp['avemo_x_realtime']}x vs {sp['opensmile_x_realtime']}x real time)"],
             [f"`avemo predict`, {pred['seconds']:.0f} s video, model loaded", f"{pred['realtime_x']}x real time"]]
    if "command_realtime_x" in pred:
        speed.append(["`avemo predict`, whole command", f"{pred['command_realtime_x']}x real time ({pred['command_s']} s)"])
    if report.get("pipeline"):
        pl = report["pipeline"]
        speed += [["default `dvc repro --force`", f"{pl['repro_s'] / 60:.1f} min"],
                  ["no-op `dvc repro`", f"{pl['noop_repro_s']} s"], ["peak memory (one process)", f"{pl['peak_rss_mb']} MB"]]
    return (markdown_table(rows, ["system", "CCC valence", "CCC arousal", "CCC mean"], align=["left"] + ["right"] * 3)
            + "\n\n" + markdown_table(speed, ["speed", "value"]) + "\n")
