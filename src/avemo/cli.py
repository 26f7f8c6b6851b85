"""The ``avemo`` command line: one command per pipeline stage (``dvc.yaml`` calls these)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from avemo import config
from avemo.console import quiet_third_party

app = typer.Typer(
    help="avemo: audio-visual emotion recognition in the valence-arousal space.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
SUMMARY_WIDTH = 120  # columns of `avemo summary` when its output is not a terminal


ParamsOpt = Annotated[Path, typer.Option("--params", "-p", help="params file to read settings from")]
StreamsOpt = Annotated[list[str] | None, typer.Option("--stream", help="audio and/or visual (default both)")]


# the extras each command needs beyond the core install (predict, pull, release, summary)
NEEDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(["synthesize", "ingest", "validate", "features", "pretrain-audio", "pretrain-visual",
                     "ssl-experiment", "teacher", "pseudo-label", "student", "fuse", "evaluate"],
                    ("pipeline",)),
    "pseudo-experiment": ("pipeline", "track"),
    **dict.fromkeys(["register", "promote", "rollback"], ("pipeline", "track")),
    "package": ("track", "serve"),
    "bench": ("pipeline", "bench"),
}


@app.callback()
def _before(ctx: typer.Context) -> None:
    """Before every command: exit 1 naming the extras it needs that the install lacks; then
    avemo's own output only, without third-party chatter."""
    from avemo.extras import MissingExtra, require

    try:
        require(*NEEDS.get(ctx.invoked_subcommand or "", ()))
    except MissingExtra as err:
        _fail(escape(str(err)))
    quiet_third_party()


def _load(params: Path) -> config.Params:
    try:
        return config.load(params)
    except config.ConfigError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None


@contextmanager
def _progress(label: str):
    """A rich progress bar; yields a ``callback(done, total)`` for the stage function."""
    with Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _experiment(label: str, run, p: config.Params, streams: list[str]) -> dict:
    """Run an experiment function under a progress bar; input errors exit 1 with the message."""
    try:
        with _progress(label) as update:
            return run(p, streams, progress=update)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))


def _streams(streams: list[str] | None) -> list[str]:
    """The ``--stream`` options of an experiment command (default: both), checked."""
    chosen = streams or ["audio", "visual"]
    bad = [s for s in chosen if s not in ("audio", "visual")]
    if bad:
        _fail(f"--stream {bad[0]!r}: choose audio or visual", 2)
    return chosen


@app.command()
def synthesize(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Generate the embedded IEMOCAP-, TED-LIUM- and FaceSynthetics-shaped corpora and
    write the corpus report (counts, oracle CCC, cue correlations)."""
    from avemo.data.synthetic import corpus, report

    cfg = _load(params).synthesize
    with _progress(f"synthesize ({cfg.size})") as update:
        summary = corpus.run(cfg, progress=update)
    with console.status("measuring the corpus (oracle, cues)"):
        rep = report.run(cfg, summary)
    report.write(rep, cfg.report)
    console.print(report.table(rep))


@app.command()
def ingest(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Read IEMOCAP, TED-LIUM 3 and FaceSynthetics layouts into parquet manifests."""
    from avemo.data import ingest as stage
    from avemo.data.errors import IngestError

    p = _load(params)
    cfg = p.ingest
    generated = Path(p.synthesize.out_dir).resolve()
    elsewhere = [c for c in stage.CORPORA if not Path(getattr(cfg, c)).resolve().is_relative_to(generated)]
    if p.synthesize.generate and elsewhere:
        console.print(f"[yellow]note:[/yellow] ingest.{elsewhere[0]} is outside synthesize.out_dir, yet "
                      f"synthesize.generate is {p.synthesize.generate}: `dvc repro` still generates the embedded "
                      f"corpora; set synthesize.generate: [] to skip that")
    try:
        with console.status("reading corpora"):
            manifests = stage.run(cfg)
        stage.write(manifests, cfg.out_dir)
        summary = stage.summarize(manifests)
    except IngestError as err:
        _fail(str(err))
    console.print_json(json.dumps(summary))


@app.command()
def validate(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Check manifests against the Great Expectations suites and decode every file.
    Exits non-zero on failure unless validate.on_error is 'quarantine' (a missing manifest
    fails in either mode)."""
    from avemo.validation import run as stage

    p = _load(params)
    roots = {"iemocap": p.ingest.iemocap, "tedlium": p.ingest.tedlium, "facesynthetics": p.ingest.facesynthetics}
    with _progress("validate: decoding files") as update:
        result = stage.run(p.validate_, roots, progress=update)
    try:
        stage.write(result, p.validate_)
    except stage.ValidationFailed as err:
        hint = ("run `avemo ingest` first: quarantine cannot replace a missing manifest"
                if err.result.report.get("unreadable") else
                "fix the items above, or set validate.on_error: quarantine to drop bad rows")
        _fail(f"{err}\n({hint})")
    console.print(result.summary())


@app.command()
def features(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Extract log-mel audio features and tracked face crops into the feature store."""
    from avemo.features import stage

    p = _load(params)
    roots = {"iemocap": p.ingest.iemocap, "tedlium": p.ingest.tedlium, "facesynthetics": p.ingest.facesynthetics}
    try:
        with _progress("features") as update:
            report = stage.run(p.features, p.validate_.out_dir, roots, progress=update)
    except (stage.FeaturesError, FileNotFoundError) as err:
        _fail(str(err))
    stage.write_report(report, p.features.report)
    console.print_json(json.dumps(report))


def _pretrain(params: Path, stream: str) -> None:
    from avemo.ssl import STRONG
    from avemo.ssl import pretrain as stage

    p = _load(params)
    try:
        report = stage.run(p, stream)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    strong = STRONG[stream]
    console.print(f"[bold]{stream}[/bold] {report['objective']}: linear probe ccc_{strong} "
                  f"{report['probe'][f'ccc_{strong}']:.3f} vs random encoder "
                  f"{report['random_probe'][f'ccc_{strong}']:.3f}; embedding_std {report['embedding_std']}, "
                  f"effective rank {report['effective_rank']}, {report['seconds']} s")


@app.command("pretrain-audio")
def pretrain_audio(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Self-supervised pretraining of the audio encoder on the unlabelled TED-LIUM-shaped
    speech (objective in pretrain.audio), then a linear probe beside a random encoder."""
    _pretrain(params, "audio")


@app.command("pretrain-visual")
def pretrain_visual(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Self-supervised pretraining of the visual encoder on the unlabelled FaceSynthetics-shaped
    faces (objective in pretrain.visual), then a linear probe beside a random encoder."""
    _pretrain(params, "visual")


@app.command("ssl-experiment")
def ssl_experiment(
    params: ParamsOpt = Path(config.DEFAULT_PARAMS),
    streams: StreamsOpt = None,
) -> None:
    """The SSL experiment (not part of `dvc repro`): every objective in pretrain.<stream>.compare
    pretrained and probed beside a random encoder, and fine-tuning from pretraining vs from
    scratch with pretrain.experiment.label_fraction of the gold labels -> reports/ssl.json."""
    from avemo.ssl import experiment as stage

    p = _load(params)
    chosen = _streams(streams)
    report = _experiment("ssl-experiment", stage.run, p, chosen)
    stage.write(report, p)
    Console().print(stage.table(report))


@app.command()
def teacher(
    params: ParamsOpt = Path(config.DEFAULT_PARAMS),
    resume: Annotated[bool, typer.Option(help="continue from each run's last checkpoint")] = False,
) -> None:
    """Train the audio and the visual model on the gold train split (tracked in MLflow and Comet)."""
    from avemo.train import teacher as stage

    p = _load(params)
    try:
        scores = stage.run(p, resume=resume)
    except FileNotFoundError as err:
        _fail(str(err))
    for stream, s in scores.items():
        console.print(f"[bold]{stream}[/bold] test: " + ", ".join(f"{k}={v:.3f}" for k, v in s["test"].items()
                                                                   if k.startswith("ccc")))


@app.command("pseudo-label")
def pseudo_label(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Each teacher labels its unlabelled corpus (MC-dropout uncertainty), confident and
    plane-balanced items are selected -> data/pseudo/<stream>.parquet and reports/pseudo.json."""
    from avemo.pseudo import report, stage

    p = _load(params)
    try:
        frames = stage.run(p)
        figures = report.run(p, frames)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    report.write(p, figures)
    for stream, q in figures.items():
        line = f"[bold]{stream}[/bold] {q['selected']}/{q['items']} selected"
        if q["truth"]["available"]:
            sel, rej = (q[k] or {} for k in ("selected_vs_truth", "rejected_vs_truth"))
            line += (f"; CCC mean vs truth: selected {sel.get('ccc_mean', float('nan')):.3f}, "
                     f"rejected {rej.get('ccc_mean', float('nan')):.3f}")
        console.print(line)
    if not all(q["truth"]["available"] for q in figures.values()):
        console.print(f"not scored against a hidden truth: {next(iter(figures.values()))['truth']['reason']}")


@app.command("pseudo-experiment")
def pseudo_experiment(
    params: ParamsOpt = Path(config.DEFAULT_PARAMS),
    streams: StreamsOpt = None,
) -> None:
    """The label-efficiency experiment (not part of `dvc repro`): teacher vs student with each
    fraction in pseudo.experiment.fractions of the gold labels -> reports/pseudo.json and the
    table in docs/pseudo-labels.md (pseudo.experiment.readme)."""
    from avemo.io import replace_block
    from avemo.pseudo import experiment as stage
    from avemo.pseudo import report

    p = _load(params)
    chosen = _streams(streams)
    new = report.score_runs(p, _experiment("pseudo-experiment", stage.run, p, chosen))
    old = report.read(p).get("label_efficiency", {})
    merged = stage.merge(old, new)
    report.write(p, {"label_efficiency": merged})
    Console().print(stage.table(merged))
    readme = p.pseudo.experiment.readme
    if readme and replace_block(readme, "label-efficiency", stage.markdown(merged)):
        console.print(f"the table is in {readme}")
    elif readme:
        console.print(f"[yellow]{readme}: no <!-- label-efficiency:start/end --> block; table not written there")


@app.command()
def student(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Train each stream on gold plus confidence-weighted pseudo labels (student.rounds rounds)."""
    from avemo.train import student as stage

    p = _load(params)
    try:
        scores = stage.run(p)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    for stream, s in scores.items():
        console.print(f"[bold]student {stream}[/bold] test: " + ", ".join(
            f"{k}={v:.3f}" for k, v in s["test"].items() if k.startswith("ccc")))


@app.command()
def fuse(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Fuse the audio and visual models (late and attention fusion); score them on val, test
    and every test mode (missing or noisy streams) -> models/fusion/<method>/."""
    from avemo.fuse import stage

    p = _load(params)
    try:
        results = stage.run(p)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    for method, r in results.items():
        console.print(f"[bold]{method} fusion[/bold] test: " + ", ".join(
            f"{k}={v:.3f}" for k, v in r["test"].items() if k.startswith("ccc")))


@app.command()
def predict(
    path: Annotated[Path, typer.Argument(help="an audio (.wav .flac) or video (.mp4 .avi .mkv) file")],
    params: ParamsOpt = Path(config.DEFAULT_PARAMS),
    model: Annotated[str | None, typer.Option(help="late | attention | best | a fused-model folder "
                                                   "(default: predict.model)")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default: predict.out_dir)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    device: Annotated[str | None, typer.Option(help="cpu | gpu | cuda | mps | auto "
                                                    "(default: train.accelerator)")] = None,
) -> None:
    """Valence and arousal over time for any audio or video file: sliding windows through the
    fused model -> <out>/<name>.csv|json and <name>.png. A missing stream falls back to the other."""
    from avemo import media
    from avemo.device import DeviceError
    from avemo.serve import predict as stage

    p = _load(params)
    if fmt not in stage.FORMATS:
        _fail(f"--format {fmt!r}: choose one of {stage.FORMATS}", 2)
    try:
        with _progress(f"predict {path.name}") as update:
            result, files = stage.run(p, path, out_dir=out, fmt=fmt, model=model, progress=update, dev=device)
    except (FileNotFoundError, media.MediaError, ValueError, DeviceError) as err:
        _fail(str(err))
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    s = result.summary
    faces = f", face in {s['face_rate']:.0%} of frames" if s.get("face_rate") is not None else ""
    console.print(f"{s['windows']} windows over {s['duration_s']:.1f} s ({', '.join(s['streams'])}{faces}): "
                  f"mean valence {s['valence']:+.3f}, arousal {s['arousal']:+.3f}")
    for f in files.values():
        console.print(f"wrote {f}")


@app.command()
def register(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Log and register every fused and per-stream model in MLflow (metrics, params, weights,
    DVC data hashes), then run the promotion gate -> reports/registry.json."""
    from avemo.io import write_json
    from avemo.registry import promote as gate
    from avemo.registry import register as stage

    p = _load(params)
    try:
        report = stage.run(p)
        decision = gate.promote(p)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    for name, r in report["registered"].items():
        console.print(f"registered {name}: {r['registered_model']} v{r['version']} (val CCC mean {r['val_ccc_mean']:.3f})")
    console.print(("[green]" if decision.moved else "[yellow]") + decision.reason)
    write_json(p.registry.report, {**report, "promotion": decision.to_dict()})


@app.command()
def promote(
    params: ParamsOpt = Path(config.DEFAULT_PARAMS),
    version: Annotated[str | None, typer.Option(help="registry version to promote (default: the best of the last registration)")] = None,
) -> None:
    """Move the `champion` alias to a fused model if it beats the champion on validation and
    its data validation passed; says why either way (exit 0 promoted, 3 refused)."""
    from avemo.registry import promote as gate

    p = _load(params)
    try:
        decision = gate.promote(p, version)
    except ValueError as err:
        _fail(str(err))
    console.print(("[green]" if decision.moved else "[yellow]") + decision.reason)
    if not decision.moved:
        raise typer.Exit(3)


@app.command()
def rollback(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Give the `champion` alias back to the previous champion."""
    from avemo.registry import promote as gate

    p = _load(params)
    try:
        decision = gate.rollback(p)
    except ValueError as err:
        _fail(str(err))
    console.print(f"[green]{decision.reason}")


@app.command()
def release(
    repo_id: Annotated[str, typer.Option("--repo-id", help="the Hugging Face Hub repo, ORG/NAME")],
    params: ParamsOpt = Path(config.DEFAULT_PARAMS),
    revision: Annotated[str | None, typer.Option(help="branch to push to, created if missing "
                                                      "(default: main)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="write the folder and list its files; push nothing")] = False,
    model: Annotated[str | None, typer.Option(help="late | attention | best | a fused-model folder "
                                                   "(default: release.model)")] = None,
    out: Annotated[Path | None, typer.Option(help="release folder (default: release.out_dir)")] = None,
) -> None:
    """Release a fused model to the Hugging Face Hub: a folder with model.safetensors,
    config.json and a model card (README.md), listed with sha256, then pushed (HF_TOKEN)."""
    import os

    from avemo.hub import release as hub
    from avemo.serve.predict import model_dir

    p = _load(params)
    try:
        hub.check_repo_id(repo_id)
    except hub.RepoIdError as err:
        _fail(str(err), 2)
    try:
        files = hub.write_folder(model_dir(p, model or p.release.model), out or p.release.out_dir, repo_id,
                                 p.release.license)
    except (FileNotFoundError, hub.ReleaseError) as err:
        _fail(str(err))
    folder = files[0].parent
    for f in hub.manifest(folder):
        typer.echo(f"{f['sha256']}  {f['bytes']:>10}  {f['path']}")
    if dry_run:
        console.print(f"dry run: wrote {folder}; nothing pushed")
        return
    try:
        url = hub.push(folder, repo_id, revision, os.environ.get("HF_TOKEN"), private=p.release.private)
    except hub.ReleaseError as err:
        _fail(str(err))
    console.print(f"pushed {folder} to {repo_id}@{revision or 'main'}")
    typer.echo(url)


@app.command()
def pull(
    source: Annotated[str, typer.Argument(help="a Hub repo ORG/NAME, or a release or fused-model folder")],
    params: ParamsOpt = Path(config.DEFAULT_PARAMS),
    revision: Annotated[str | None, typer.Option(help="branch, tag or commit to pin (required for a "
                                                      "Hub repo)")] = None,
    predict_file: Annotated[Path | None, typer.Option("--predict", help="an audio or video file to run "
                                                                        "the model on")] = None,
) -> None:
    """Load a released model (offline: from the local Hub cache only) into the inference
    pipeline; print its metadata, and with --predict the clip-level summary of a file."""
    from avemo import media
    from avemo.hub import release as hub

    p = _load(params)
    try:
        pipeline = hub.pull(source, revision, p.predict)
    except hub.RepoIdError as err:
        _fail(str(err), 2)
    except hub.ReleaseError as err:
        _fail(str(err))
    cfg, out = pipeline.cfg, Console()
    test = cfg.get("scores", {}).get("test", {})
    out.print(f"{source}{'@' + revision if revision else ''}: {cfg['fusion']['name']} fusion of "
              + ", ".join(f"{s} ({c['encoder']})" for s, c in cfg["streams"].items()))
    out.print("targets: " + ", ".join(pipeline.targets))
    out.print("test: " + (", ".join(f"{k}={v:.3f}" for k, v in test.items() if k.startswith("ccc")) or "no scores"))
    if predict_file is None:
        return
    try:
        with _progress(f"predict {predict_file.name}") as update:
            result = pipeline.predict_file(predict_file, progress=update)
    except (FileNotFoundError, media.MediaError, ValueError) as err:
        _fail(str(err))
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    s = result.summary
    out.print(f"{s['windows']} windows over {s['duration_s']:.1f} s ({', '.join(s['streams'])}): mean "
              + ", ".join(f"{t} {s[t]:+.3f}" for t in pipeline.targets))


@app.command()
def package(
    params: ParamsOpt = Path(config.DEFAULT_PARAMS),
    build: Annotated[bool, typer.Option(help="also build the bento (bentos/bentofile.yaml)")] = True,
) -> None:
    """Import the registry's champion into the BentoML model store and build the bento."""
    from avemo.io import write_json
    from avemo.serve import package as stage

    p = _load(params)
    try:
        report = stage.run(p, build=build)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    console.print(f"model {report['model']} (registry {report['registry']['registered_model']} "
                  f"v{report['registry']['version']})" + (f", bento {report['bento']}" if "bento" in report else ""))
    write_json(p.serve.report, report)


@app.command()
def bench(
    params: ParamsOpt = Path(config.DEFAULT_PARAMS),
    repro: Annotated[bool, typer.Option(help="also time the default pipeline from scratch (`dvc repro --force`, "
                                             "minutes) and a no-op `dvc repro`")] = False,
    command: Annotated[bool, typer.Option(help="also time the whole `avemo predict` command")] = True,
) -> None:
    """avemo beside classical peers (eGeMAPS / HOG + ridge, tuned on val) and the oracle on the
    test split, and its speed -> reports/bench.json and reports/bench.md."""
    from avemo.bench import stage
    from avemo.io import write_json, write_text

    p = _load(params)
    previous = json.loads(Path(p.bench.report).read_text()) if Path(p.bench.report).is_file() else None
    try:
        report = stage.run(p, params, repro=repro, command=command, previous=previous)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    write_json(p.bench.report, report)
    write_text(p.bench.table, stage.table(report))
    Console().print(stage.table(report))
    console.print(report["checks"])


@app.command()
def evaluate(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Score every trained model on val and test beside the oracle; write metrics and plots."""
    from avemo.evaluate import stage

    p = _load(params)
    try:
        report = stage.run(p)
    except FileNotFoundError as err:
        _fail(str(err))
    stage.write(report, p)
    from avemo import summary as mod

    Console().print(mod.metrics_table(report))


@app.command()
def summary(params: ParamsOpt = Path(config.DEFAULT_PARAMS)) -> None:
    """Print the results table from the reports the pipeline left behind."""
    from avemo import summary as mod

    out = Console()
    if not out.is_terminal:  # a pipe or a CI log: no terminal to fit, so no 80-column default either
        out = Console(width=max(out.width, SUMMARY_WIDTH))
    out.print(mod.table(_load(params)))


if __name__ == "__main__":
    app()


def main() -> None:
    """The ``avemo`` entry point: the app, where a module that only an extra installs, missing
    at run time, exits 1 naming the extra."""
    from avemo.extras import install_hint, providing

    try:
        app()
    except ModuleNotFoundError as err:
        extra = providing(err.name or "")
        if extra is None:
            raise
        console.print(escape(f"error: this command needs {err.name!r}, which the core install leaves out; "
                             f"install the {extra!r} extra: {install_hint([extra])}"), style="red")
        raise SystemExit(1) from None
