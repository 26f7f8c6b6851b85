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
