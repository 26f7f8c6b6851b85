"""Distributed training scores right: two CPU processes (DDP, gloo) train one stream, and the
scores and predictions rank zero writes cover the whole splits and equal what one process
computes from the saved weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from avemo.evaluate import metrics
from avemo.features import store
from avemo.models import regressor
from avemo.pseudo import infer

# Lightning's DDP launcher starts rank 1 by running this script again
SCRIPT = """
import json, os, sys
from pathlib import Path
from avemo import config
from avemo.train.fit import fit_stream

p = config.Params.model_validate_json(Path(sys.argv[1]).read_text())
scores = fit_stream(p, "audio", Path(sys.argv[2]), "ddp", progress=False)
Path(sys.argv[3] + os.environ.get("LOCAL_RANK", "0")).write_text(json.dumps(scores))
"""


def _ddp_run(train_params, d: Path):
    p = train_params.model_copy(update={"train": train_params.train.model_copy(
        update={"strategy": "ddp", "devices": 2, "accelerator": "cpu", "max_epochs": 2})})
    (d / "params.json").write_text(p.model_dump_json(by_alias=True))
    (d / "run.py").write_text(SCRIPT)
    env = {**os.environ, "MASTER_PORT": str(29500 + os.getpid() % 1000), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(d / "run.py"), str(d / "params.json"), str(d / "run"), str(d / "scores")],
                         cwd=d, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return p, d


def test_two_processes_score_the_whole_splits_as_one_process_does(train_params, tmp_path):
    """2-process scores equal 1-process scores of the same weights within 1e-6."""
    p, d = _ddp_run(train_params, tmp_path)
    s0, s1 = (json.loads((d / f"scores{r}").read_text()) for r in (0, 1))
    assert s0 == s1
    preds = pd.read_parquet(d / "run" / "predictions.parquet")
    n = {s: len(store.read(p.features.out_dir, "iemocap", s).index) for s in ("val", "test")}
    assert preds["split"].value_counts().to_dict() == n and preds["clip_id"].is_unique  # no shard, no repeats
    assert json.loads((d / "run" / "config.json").read_text())["scores"] == s0
    model, cfg = regressor.load(d / "run")
    for split in ("val", "test"):
        data = store.read(p.features.out_dir, "iemocap", split)
        mean, _ = infer.mc_dropout(model, data, "audio", p.features.out_dir, p.features.audio.normalise,
                                   p.train.video_frame_step, passes=1, seed=0)
        one = metrics.scores(mean, data.index[list(cfg["targets"])].to_numpy(), dims=tuple(cfg["targets"]))
        assert one.keys() == s0[split].keys()
        assert np.allclose([one[k] for k in one], [s0[split][k] for k in one], atol=1e-6), (one, s0[split])


# every training stage, as its stage function runs it, in one two-process launch
STAGES = """
import json, os, sys
from pathlib import Path
from avemo import config
from avemo.fuse import stage as fuse
from avemo.pseudo import stage as pseudo
from avemo.ssl import pretrain
from avemo.train import student, teacher

p = config.Params.model_validate_json(Path(sys.argv[1]).read_text())
out = {"pretrain": pretrain.run(p, "audio", progress=False)["epochs"]}
out["teacher"] = teacher.run(p, progress=False)
labels = pseudo.label(p, "audio", Path(p.teacher.out_dir) / "audio")  # inference: the same in each process
out["student"] = student.train(p, "audio", labels, Path(p.teacher.out_dir) / "audio",
                               Path(p.student.out_dir) / "audio", "student_audio", progress=False)["test"]
p = p.model_copy(update={"student": p.student.model_copy(update={"streams": ["audio"]})})
out["fuse"] = sorted(fuse.run(p, progress=False))
Path(sys.argv[2] + os.environ.get("LOCAL_RANK", "0")).write_text(json.dumps(out))
"""


def test_every_training_stage_runs_under_ddp(train_params, tmp_path):
    """Self-supervised pretraining, both teachers, a student on pseudo-labels and attention
    fusion train in two gloo processes; rank zero writes each stage's outputs once."""
    t = {"strategy": "ddp", "devices": 2, "accelerator": "cpu", "max_epochs": 1}
    p = train_params.model_copy(update={
        "train": train_params.train.model_copy(update=t),
        "pretrain": train_params.pretrain.model_copy(update={"audio": train_params.pretrain.audio.model_copy(
            update={"epochs": 1, "batch_size": 16})}),
        "fuse": train_params.fuse.model_copy(update={
            "out_dir": str(tmp_path / "fusion"), "sources": {"audio": "teacher", "visual": "teacher"},
            "attention": train_params.fuse.attention.model_copy(update={"max_epochs": 2, "dim": 16, "heads": 2}),
            "late": train_params.fuse.late.model_copy(update={"steps": 5})})})
    (tmp_path / "params.json").write_text(p.model_dump_json(by_alias=True))
    (tmp_path / "run.py").write_text(STAGES)
    env = {**os.environ, "MASTER_PORT": str(30500 + os.getpid() % 1000), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "params.json"), str(tmp_path / "out")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-4000:]
    r0 = json.loads((tmp_path / "out0").read_text())
    assert r0["pretrain"] == 1 and set(r0["teacher"]) == {"audio", "visual"} and r0["fuse"] == ["attention", "late"]
    assert (tmp_path / "out1").is_file()  # rank 1 ran every stage to the end too
    assert (Path(p.pretrain.out_dir) / "audio" / "encoder.safetensors").is_file()
    assert json.loads((Path(p.pretrain.reports_dir) / "pretrain_audio.json").read_text())["epochs"] == 1
    for d in (Path(p.teacher.out_dir) / "audio", Path(p.student.out_dir) / "audio", tmp_path / "fusion" / "attention"):
        assert (d / "model.safetensors").is_file() and (d / "predictions.parquet").is_file(), d
    history = pd.read_csv(tmp_path / "fusion" / "attention" / "history.csv")
    assert len(history) == 2  # one row per epoch: written once, by rank zero
