"""The SSL experiment: its steps and report on the synthetic store (one tiny run), its table."""

from __future__ import annotations

import pytest
import yaml

from avemo import config
from avemo.ssl import experiment


@pytest.fixture
def exp_params(raw_params, feature_store, tmp_path) -> config.Params:
    p = yaml.safe_load(yaml.safe_dump(raw_params))
    p["features"]["out_dir"] = feature_store
    p["features"]["audio"]["normalise"] = "global"  # the store plants arousal as a level: keep it
    p["model"]["audio"]["stats"] = False
    p["train"].update(max_epochs=1, batch_size=16)
    p["model"]["visual"].update(dim=16)
    p["pretrain"]["visual"].update(epochs=1, batch_size=16, compare=["simclr"], objective="simclr")
    p["pretrain"]["experiment"].update(label_fraction=0.25, seeds=[1, 2], report=str(tmp_path / "ssl.json"),
                                       out_dir=str(tmp_path / "exp"))
    p["tracking"].update(mlflow_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_dir=str(tmp_path / "mlruns"))
    return config.parse(p)


def test_visual_experiment_report_has_every_figure(exp_params, tmp_path):
    seen = []
    report = experiment.run(exp_params, ["visual"], progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (3, 3)  # scratch, one objective, the landmark ablation
    r = report["visual"]["simclr"]
    for key in ("probe", "random_probe", "finetune_25pct", "scratch_25pct"):
        assert {"ccc_valence", "ccc_arousal", "ccc_mean"} <= set(r[key]), key
    assert r["embedding_std"] > 0
    per_seed = r["finetune_25pct"]["seeds"]
    assert set(per_seed) == {"1", "2"} and per_seed["1"] != per_seed["2"]  # its own subset and init
    assert r["finetune_25pct"]["ccc_mean"] == pytest.approx((per_seed["1"]["ccc_mean"] + per_seed["2"]["ccc_mean"]) / 2)
    abl = report["visual"]["landmarks_ablation"]
    assert abl["configured"] == 0.0 and abl["toggled"]["landmarks_weight"] == 1.0
    experiment.write(report, exp_params)
    assert (tmp_path / "ssl.json").is_file()
    table = experiment.table(report)
    assert table.row_count == 2


def test_steps_count_every_training_run(exp_params):
    assert experiment.steps(exp_params, ["audio"]) == 1 + len(exp_params.pretrain.audio.compare)
    assert experiment.steps(exp_params, ["visual"]) == 3
