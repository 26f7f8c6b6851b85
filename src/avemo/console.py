"""The console of a run: avemo's own progress, results and actionable warnings, without the
third-party chatter that says nothing about this run (Lightning's hardware lines and tips,
Comet's import-order warning and archiving steps, a torch deprecation inside Lightning).

Everything is silenced by name: the logger and the message, or the warning's message, category
and module. Warnings and log records not listed here still show.
"""

from __future__ import annotations

import logging
import re
import warnings

# INFO of Lightning's rank-zero loggers: "GPU available: ...", "TPU available: ...", the
# "💡 Tip: ... litlogger / litmodels" lines, "LOCAL_RANK: 0 - CUDA_VISIBLE_DEVICES: ..."; and
# MLflow's database migration chatter on a new sqlite store
_LOGGERS_AT_WARNING = (
    "pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero",
    "lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
    "pytorch_lightning.accelerators.cuda", "lightning.pytorch.accelerators.cuda",
    "mlflow.store.db.utils", "alembic.runtime.migration", "mlflow.tracking.fluent",
)
# logger -> messages dropped (regexes, searched in the formatted message)
_DROPPED_RECORDS = {
    # comet_ml is imported after torch on purpose: its auto-logging patches are not wanted
    "comet_ml.experiment": (r"import comet_ml before the following modules",),
    # the steps of writing the offline archive ("comet upload <zip>" still shows)
    "comet_ml.offline": (r"^Begin archiving the offline data",),
    "comet_ml.streamer.offline": (r"offline data items still in progress of writing",
                                  r"^Still saving offline stats to messages file"),
    "comet_ml.utils": (r"^Still saving offline stats to messages file",),  # its log-once path
    # the first run on a new MLflow store creates the experiment
    "pytorch_lightning.loggers.mlflow": (r"^Experiment with name .* not found\. Creating it\.",),
    "lightning.pytorch.loggers.mlflow": (r"^Experiment with name .* not found\. Creating it\.",),
}
_LIGHTNING = r"(pytorch_lightning|lightning_fabric|lightning\.pytorch|lightning\.fabric)(\.|$)"
# (message regex, category, module regex) of warnings.filterwarnings
_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    # torch deprecates LeafSpec; Lightning's own pytree helper still builds one
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning, _LIGHTNING),
    # the data live in memory as tensors: loader workers would only add start-up time
    (r"The '\w+' does not have many workers", UserWarning, _LIGHTNING),
    # a stage owns its run folder: resuming finds its own checkpoints there
    (r"Checkpoint directory .* exists and is not empty", UserWarning, _LIGHTNING),
)


class _DropMessages(logging.Filter):
    """Drops the records of one logger whose message matches one of the patterns."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        super().__init__()
        self.patterns = tuple(re.compile(p) for p in patterns)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(p.search(message) for p in self.patterns)


_FILTERS = {name: _DropMessages(patterns) for name, patterns in _DROPPED_RECORDS.items()}


def quiet_third_party() -> None:
    """Silence the listed third-party messages in this process; safe to call again."""
    for name in _LOGGERS_AT_WARNING:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name, drop in _FILTERS.items():
        logging.getLogger(name).addFilter(drop)  # a filter already there is not added twice
    for message, category, module in _WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
