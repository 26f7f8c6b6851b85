"""The student stage: gold + pseudo labels, traced to its pseudo-label version; noisy-student rounds."""

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from avemo.pseudo import stage as pseudo_stage
from avemo.train import student, teacher


@pytest.fixture
def labelled(train_params):
    teacher.run(train_params, progress=False)
    pseudo_stage.run(train_params)
    return train_params


def test_student_trains_on_gold_and_pseudo_and_records_the_label_version(labelled):
    p = labelled.model_copy(update={"student": labelled.student.model_copy(update={"streams": ["audio"]})})
    scores = student.run(p, progress=False)
    out = Path(p.student.out_dir) / "audio"
    assert (out / "model.safetensors").is_file() and scores["audio"]["test"]["ccc_arousal"] > 0.3
    version = pd.read_parquet(pseudo_stage.path(p, "audio"))["teacher_version"].iloc[0]
    assert scores["audio"]["rounds"][0]["teacher_version"] == version
    mlflow.set_tracking_uri(p.tracking.mlflow_uri)
    runs = mlflow.search_runs(experiment_names=[p.tracking.experiment], filter_string="tags.mlflow.runName = 'student_audio'")
    assert runs["params.pseudo.teacher_version"].tolist() == [version]
    # lr_mult unlabelled_share: its teacher saw every gold label, so the student fine-tunes at 0.1x
    assert float(runs["params.lr_mult"].iloc[0]) == pytest.approx(0.1)
    assert float(runs["params.train.lr"].iloc[0]) == pytest.approx(p.train.lr * 0.1)


def test_noisy_student_rounds_relabel_with_each_student(labelled):
    p = labelled.model_copy(update={"student": labelled.student.model_copy(
        update={"streams": ["visual"], "rounds": 2, "init": "teacher"})})
    scores = student.run(p, progress=False)
    first = Path(p.student.out_dir) / "visual_round1"
    relabelled = pd.read_parquet(first / "pseudo.parquet")
    assert [r["round"] for r in scores["visual"]["rounds"]] == [1, 2]
    assert scores["visual"]["rounds"][1]["teacher_version"] == relabelled["teacher_version"].iloc[0]
    assert relabelled["teacher_version"].iloc[0] != scores["visual"]["rounds"][0]["teacher_version"]
    assert (Path(p.student.out_dir) / "visual" / "model.safetensors").is_file()


def test_student_without_pseudo_labels_says_what_to_run(train_params):
    with pytest.raises(FileNotFoundError, match="avemo pseudo-label"):
        student.run(train_params, progress=False)
