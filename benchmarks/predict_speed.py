"""How fast `avemo predict` runs on an audio-visual video of ``--seconds`` (default 60 s),
built by looping a test-split dialog of the embedded IEMOCAP-shaped corpus.

    uv run python benchmarks/predict_speed.py [--seconds 60] [--repeats 3]

Needs `dvc repro` first (the corpus and a fused model). Prints and writes
``reports/predict_speed.json`` (or ``--report``): the median wall time of
``Pipeline.predict_file`` (model loaded once, as a service does) and of the whole
`avemo predict` command (imports and model load included), the real-time factors, and the
command's peak resident memory (run it with ``--seconds 600`` too: the memory stays flat
because media is read ``predict.chunk_s`` at a time). `avemo bench` reports the same figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from avemo import config
from avemo.bench import speed
from avemo.io import write_json


def main(seconds: float = 60.0, repeats: int = 3, params: Path = Path(config.DEFAULT_PARAMS),
         report: Path = Path("reports/predict_speed.json")) -> None:
    figures = speed.predict(config.load(params), params, seconds, repeats)
    write_json(report, figures)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    typer.run(main)
