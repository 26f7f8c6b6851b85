"""A training run through the project's trainer builder prints no third-party chatter: no
Comet import-order warning or archiving steps, no Lightning tips or hardware lines, no
torch deprecation from inside Lightning, no MLflow database set-up."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest
import yaml

from avemo.console import quiet_third_party

NOISE = ("import comet_ml before", "Begin archiving", "still in progress of writing", "Still saving offline stats",
         "Tip:", "litmodels", "litlogger", "GPU available", "TPU available", "HPU available", "LeafSpec",
         "does not have many workers", "exists and is not empty", "not found. Creating it",
         "Creating initial MLflow database tables")

SCRIPT = """
import sys
from pathlib import Path
from avemo import config
from avemo.train.fit import fit_stream
p = config.load(sys.argv[1])
fit_stream(p, "audio", Path(sys.argv[2]), "quiet", progress=False)
fit_stream(p, "audio", Path(sys.argv[2]), "quiet", progress=False, resume=True)
print("done")
"""


def test_a_training_run_prints_no_third_party_chatter(train_params, tmp_path):
    d = train_params.model_dump(by_alias=True, mode="json")
    d["train"]["max_epochs"] = 2
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(d))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COMET_API_KEY"))}
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(path), str(tmp_path / "run")], capture_output=True,
                         text=True, cwd=tmp_path, env=env, timeout=600)
    assert res.returncode == 0 and "done" in res.stdout, res.stderr
    out = res.stdout + res.stderr
    assert [n for n in NOISE if n in out] == [], out
    assert "comet upload" in out  # where the offline archive is: still shown


def test_only_the_listed_warnings_are_silenced():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_third_party()
        quiet_third_party()  # twice: still one filter each
        warnings.warn_explicit("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning,
                               "x.py", 1, module="pytorch_lightning.utilities._pytree")
        warnings.warn_explicit("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning,
                               "x.py", 1, module="avemo.train.fit")  # not Lightning's: shown
        warnings.warn_explicit("something else is deprecated", FutureWarning, "x.py", 2,
                               module="pytorch_lightning.trainer.trainer")
        n_filters = len(warnings.filters)
        quiet_third_party()
        assert len(warnings.filters) == n_filters
    assert [str(w.message)[:20] for w in seen] == ["`isinstance(treespec", "something else is de"]


@pytest.mark.parametrize("message, kept", [("Begin archiving the offline data.", False),
                                           ("To upload this offline experiment, run: ...", True)])
def test_comet_records_are_dropped_by_message(message, kept):
    import logging

    quiet_third_party()
    logger = logging.getLogger("comet_ml.offline")
    assert all(f.filter(logger.makeRecord(logger.name, logging.INFO, "x", 1, message, (), None))
               for f in logger.filters) is kept
