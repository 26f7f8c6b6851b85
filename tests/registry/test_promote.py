"""The registry: every model registered with its lineage; the champion gate never promotes a
worse model or one whose data failed validation; rollback restores the previous champion."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import save_file

from avemo import tracking
from avemo.registry import promote as gate
from avemo.registry import register


def _scores(val: float) -> dict:
    return {s: {"ccc_valence": v, "ccc_arousal": v, "ccc_mean": v} for s, v in (("val", val), ("test", val - 0.05))}


@pytest.fixture
def reg(train_params, tmp_path, monkeypatch):
    """Fake trained models under tmp_path, a dvc.lock and a validation report there."""
    monkeypatch.chdir(tmp_path)
    p = train_params.model_copy(update={"fuse": train_params.fuse.model_copy(update={"out_dir": str(tmp_path / "fusion")})})
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {
        "features": {"outs": [{"path": "data/features", "md5": "abc123.dir"}]},
        "pseudo_label": {"outs": [{"path": "data/pseudo", "md5": "def456.dir"}, {"path": "reports/pseudo.json", "md5": "x"}]}}}))

    def write(late: float, attention: float, valid: bool = True, stream: float = 0.5):
        for name, val, base in (("late", late, p.fuse.out_dir), ("attention", attention, p.fuse.out_dir),
                                ("audio", stream, p.teacher.out_dir)):
            d = Path(base) / name
            d.mkdir(parents=True, exist_ok=True)
            save_file({"w": torch.full((2,), val)}, str(d / "model.safetensors"))
            (d / "config.json").write_text(json.dumps({"scores": _scores(val)}))
        Path(p.validate_.report).parent.mkdir(parents=True, exist_ok=True)
        Path(p.validate_.report).write_text(json.dumps({"success": valid}))
        return register.run(p)

    return p, write


def _champion(p):
    v = gate.champion(tracking.mlflow_client(p.tracking), p.registry.fused_name)
    return v and v.version


def test_every_model_is_registered_with_its_lineage(reg):
    p, write = reg
    report = write(0.80, 0.85)
    assert set(report["registered"]) == {"late_fusion", "attention_fusion", "teacher_audio"}
    assert report["registered"]["teacher_audio"]["registered_model"] == "avemo-audio"
    client = tracking.mlflow_client(p.tracking)
    v = client.get_model_version("avemo-fusion", report["registered"]["attention_fusion"]["version"])
    assert v.tags["dvc.features.md5"] == "abc123.dir" and v.tags["dvc.pseudo.md5"] == "def456.dir"
    assert v.tags["validation_success"] == "true" and float(v.tags["val_ccc_mean"]) == pytest.approx(0.85)
    run = client.get_run(v.run_id)
    assert run.data.metrics["val/ccc_mean"] == pytest.approx(0.85)
    assert {a.path for a in client.list_artifacts(v.run_id, "model")} == {"model/model.safetensors", "model/config.json"}


def test_the_gate_promotes_only_better_validated_models_and_rollback_restores(reg):
    p, write = reg
    first = write(0.80, 0.85)
    d = gate.promote(p)
    assert d.moved and "no champion yet" in d.reason
    champ = first["registered"]["attention_fusion"]["version"]
    assert _champion(p) == champ

    write(0.70, 0.84)  # worse than the champion: never promoted
    d = gate.promote(p)
    assert not d.moved and "does not beat" in d.reason and _champion(p) == champ

    write(0.95, 0.90, valid=False)  # better, but its data failed validation
    d = gate.promote(p)
    assert not d.moved and "validation did not pass" in d.reason and _champion(p) == champ

    best = write(0.86, 0.92)
    d = gate.promote(p)
    assert d.moved and _champion(p) == best["registered"]["attention_fusion"]["version"]
    client = tracking.mlflow_client(p.tracking)
    assert client.get_registered_model("avemo-fusion").aliases["previous"] == champ

    d = gate.rollback(p)
    assert _champion(p) == champ and "rolled back" in d.reason
    with pytest.raises(ValueError, match="no previous champion"):
        gate.rollback(p)


def test_the_margin_and_an_explicit_version(reg):
    p, write = reg
    write(0.80, 0.85)
    gate.promote(p)
    strict = p.model_copy(update={"registry": p.registry.model_copy(update={"margin": 0.05})})
    third = write(0.70, 0.88)
    assert not gate.promote(strict).moved  # +0.03 is inside the margin
    late = third["registered"]["late_fusion"]["version"]
    assert not gate.promote(p, late).moved  # an explicit, worse version is refused too
    with pytest.raises(ValueError, match="no version"):
        gate.promote(p, "999")
