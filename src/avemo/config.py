"""params.yaml -> typed config. One section per stage; unknown keys and wrong types are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_PARAMS = "params.yaml"


class ConfigError(ValueError):
    """params.yaml is missing, unreadable, or does not match the schema."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- synthesize -------------------------------------------------------------------------


class CorpusSize(Section):
    dialogs_per_session: int = Field(ge=1)
    turns_per_dialog: int = Field(ge=2)
    talks: int = Field(ge=1)
    segments_per_talk: int = Field(ge=1)
    faces: int = Field(ge=1)
    face_identities: int = Field(ge=1)


class SynthAudio(Section):
    sample_rate: int = 16000
    snr_db: list[float] = Field(default=[12.0, 35.0], min_length=2, max_length=2)


class SynthVideo(Section):
    fps: int = Field(default=10, ge=1)
    face_px: int = Field(default=96, ge=32)
    image_px: int = Field(default=128, ge=32)


class SynthLabels(Section):
    raters: int = Field(default=3, ge=1)
    rater_noise: float = Field(default=0.45, ge=0.0)
    drift: float = Field(default=0.15, ge=0.0)


class SynthesizeConfig(Section):
    # the corpora `dvc repro` generates before ingest (stage synthesize@embedded). [] when the
    # ingest paths point at real corpora: dvc.yaml then has no synthesize stage at all
    generate: list[Literal["embedded"]] = ["embedded"]
    seed: int = 20261125
    size: str = "default"
    sizes: dict[str, CorpusSize]
    out_dir: str = "data/raw"
    report: str = "reports/corpus.json"
    workers: int = Field(default=2, ge=1)
    audio: SynthAudio = SynthAudio()
    video: SynthVideo = SynthVideo()
    labels: SynthLabels = SynthLabels()

    @model_validator(mode="after")
    def _size_known(self) -> SynthesizeConfig:
        if self.size not in self.sizes:
            raise ValueError(f"size {self.size!r} is not one of sizes: {sorted(self.sizes)}")
        return self

    @property
    def corpus_size(self) -> CorpusSize:
        return self.sizes[self.size]


# --- ingest -----------------------------------------------------------------------------


class Splits(Section):
    train: list[str]
    val: list[str]
    test: list[str]

    @model_validator(mode="after")
    def _disjoint(self) -> Splits:
        seen: dict[str, str] = {}
        for name in ("train", "val", "test"):
            for s in getattr(self, name):
                if s in seen:
                    raise ValueError(f"session {s!r} is in both {seen[s]} and {name}")
                seen[s] = name
        return self


class IngestConfig(Section):
    iemocap: str = "data/raw/iemocap"
    tedlium: str = "data/raw/tedlium"
    facesynthetics: str = "data/raw/facesynthetics"
    splits: Splits
    out_dir: str = "data/interim"


# --- validate ---------------------------------------------------------------------------


class ValidateConfig(Section):
    manifests_dir: str = "data/interim"
    out_dir: str = "data/validated"
    expectations_dir: str = "expectations"
    on_error: Literal["fail", "quarantine"] = "fail"
    sample_rate: int = 16000
    min_duration_s: float = 0.2
    max_duration_s: float = 60.0
    video_frames: int = Field(default=3, ge=1)
    silence_dbfs: float = -60.0          # an audio file whose RMS level is below this is silent
    duration_tolerance_s: float = Field(default=0.5, ge=0)  # file length vs annotation; segment ends
    workers: int = Field(default=2, ge=1)
    report: str = "reports/validation.json"
    report_md: str = "reports/validation.md"


# --- features ---------------------------------------------------------------------------


class AudioFeatures(Section):
    n_mels: int = Field(default=64, ge=8)
    win_ms: float = Field(default=25.0, gt=0)
    hop_ms: float = Field(default=10.0, gt=0)
    normalise: Literal["global", "utterance"] = "utterance"


class VideoFeatures(Section):
    crop_px: int = Field(default=48, ge=16)
    cascade: str = "haarcascade_frontalface_alt2.xml"
    min_face_frac: float = Field(default=0.3, gt=0, le=1)
    smooth: float = Field(default=0.6, ge=0, lt=1)
    margin: float = Field(default=0.15, ge=0)
    speaker_side: dict[str, Literal["left", "right"]] = {"F": "left", "M": "right"}


class FeaturesConfig(Section):
    out_dir: str = "data/features"
    report: str = "reports/features.json"
    workers: int = Field(default=2, ge=1)
    audio: AudioFeatures = AudioFeatures()
    video: VideoFeatures = VideoFeatures()


# --- augmentation ---------------------------------------------------------------------


class AudioAugment(Section):
    p_noise: float = Field(default=0.5, ge=0, le=1)
    noise_snr_db: list[float] = Field(default=[10.0, 30.0], min_length=2, max_length=2)
    gain_db: float = Field(default=6.0, ge=0)
    shift_frac: float = Field(default=0.1, ge=0, lt=1)
    freq_masks: int = Field(default=2, ge=0)
    freq_width: int = Field(default=8, ge=0)
    time_masks: int = Field(default=2, ge=0)
    time_width: int = Field(default=20, ge=0)


class VideoAugment(Section):
    brightness: float = Field(default=0.2, ge=0)
    contrast: float = Field(default=0.2, ge=0)
    rotate_deg: float = Field(default=10.0, ge=0)
    p_cutout: float = Field(default=0.3, ge=0, le=1)
    cutout_frac: float = Field(default=0.3, ge=0, le=1)
    p_blur: float = Field(default=0.2, ge=0, le=1)
    blur_sigma: list[float] = Field(default=[0.5, 1.5], min_length=2, max_length=2)


class AugmentConfig(Section):
    enabled: bool = True
    on_device: bool = False   # augment and normalise training batches on the GPU, not in the loader
    audio: AudioAugment = AudioAugment()
    video: VideoAugment = VideoAugment()


# --- models and training --------------------------------------------------------------


class EncoderConfig(Section):
    name: str
    dim: int = Field(default=96, ge=8)
    dropout: float = Field(default=0.2, ge=0, lt=1)
    pooling: Literal["mean", "attention"] = "attention"
    # audio: the model is fed the stored log-mel, normalises it per utterance itself and adds
    # the statistics that removes (level, spectral tilt, dynamics) to its embeddings
    stats: bool = False


class ModelConfig(Section):
    audio: EncoderConfig = EncoderConfig(name="audio_cnn")
    visual: EncoderConfig = EncoderConfig(name="visual_cnn")
    targets: list[Literal["valence", "arousal", "dominance"]] = ["valence", "arousal"]

    @model_validator(mode="after")
    def _stats_audio_only(self) -> ModelConfig:
        if self.visual.stats:
            raise ValueError("model.visual.stats: utterance statistics are a log-mel side input; audio only")
        return self


Stream = Literal["audio", "visual"]


class TrainConfig(Section):
    seed: int = 42
    # max_epochs and lr: one value for both streams, or one per stream ({audio: 40, visual: 30})
    max_epochs: Annotated[int, Field(ge=1)] | dict[Stream, Annotated[int, Field(ge=1)]] = 40
    batch_size: int = Field(default=32, ge=1)
    lr: Annotated[float, Field(gt=0)] | dict[Stream, Annotated[float, Field(gt=0)]] = 3e-3
    weight_decay: float = Field(default=1e-4, ge=0)
    mse_weight: float = Field(default=0.1, ge=0)
    pretrained_lr_mult: float = Field(default=1.0, gt=0)  # encoder lr factor when it starts pretrained
    # LP-FT, per stream: a pretrained encoder stays frozen for this many epochs (of a full run)
    # while pooling and head learn, then fine-tunes; 0 = from the start, >= max_epochs = frozen
    pretrained_freeze_epochs: dict[Literal["audio", "visual"], Annotated[int, Field(ge=0)]] = {"audio": 0, "visual": 3}
    patience: int = Field(default=8, ge=1)
    max_audio_frames: int = Field(default=300, ge=8)
    max_video_frames: int = Field(default=14, ge=2)
    video_frame_step: int = Field(default=3, ge=1)
    # hardware: one accelerator drives training and every inference path (avemo.device)
    accelerator: Literal["cpu", "gpu", "cuda", "mps", "auto"] = "cpu"
    devices: int | str = 1
    num_nodes: int = Field(default=1, ge=1)
    precision: Literal["32-true", "bf16-mixed", "16-mixed", "bf16-true", "64-true"] = "32-true"
    strategy: str = "auto"
    # the input pipeline: loader processes, page-locked batches (auto: on CUDA), workers kept
    # alive across epochs, batches each worker prepares ahead
    num_workers: int = Field(default=0, ge=0)
    pin_memory: bool | Literal["auto"] = "auto"
    persistent_workers: bool = True
    prefetch_factor: int = Field(default=2, ge=1)
    # true: deterministic algorithms (on CUDA warn-only where a kernel has none) | warn | false
    deterministic: bool | Literal["warn"] = True

    @model_validator(mode="after")
    def _both_streams(self) -> TrainConfig:
        for name in ("max_epochs", "lr"):
            value = getattr(self, name)
            if isinstance(value, dict) and set(value) != {"audio", "visual"}:
                raise ValueError(f"train.{name} per stream needs both audio and visual, got {sorted(value)}")
        return self

    def for_stream(self, stream: Stream) -> TrainConfig:
        """This config with ``max_epochs`` and ``lr`` resolved to ``stream``'s values."""
        pick = {k: v[stream] for k in ("max_epochs", "lr") if isinstance(v := getattr(self, k), dict)}
        return self.model_copy(update=pick) if pick else self


class TeacherConfig(Section):
    out_dir: str = "models/teacher"
    streams: list[Literal["audio", "visual"]] = ["audio", "visual"]
    # streams whose encoder starts from pretrain.out_dir/<stream>/encoder.safetensors
    init_from_pretrained: list[Literal["audio", "visual"]] = ["audio"]


# --- self-supervised pretraining ------------------------------------------------------


# the names of avemo.ssl.registry.OBJECTIVES (kept here so that reading params needs no torch)
Objective = Literal["simclr", "vicreg", "byol"]


class PretrainStream(Section):
    """One stream's pretraining (``pretrain_audio`` / ``pretrain_visual`` stage)."""

    objective: Objective
    compare: list[Objective] = ["simclr", "vicreg"]  # objectives the SSL experiment scores
    epochs: int = Field(default=20, ge=1)
    batch_size: int = Field(default=64, ge=2)
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    crop_frames: int = Field(default=200, ge=8)  # audio views: crop length (frames)
    scale: list[float] = Field(default=[0.75, 1.0], min_length=2, max_length=2)  # face views: zoom
    translate: float = Field(default=0.05, ge=0)  # face views: shift (fraction of half-width)
    landmarks_weight: float = Field(default=0.0, ge=0)  # face views: landmark-regression auxiliary


class SSLExperiment(Section):
    """``avemo ssl-experiment``: every objective in ``compare`` probed, and fine-tuning from
    pretraining vs from scratch with a fraction of the gold train labels."""

    label_fraction: float = Field(default=0.1, gt=0, le=1)
    seeds: list[int] = Field(default=[42, 7, 123], min_length=1)  # 10% runs: one label subset and init per seed, averaged
    landmarks_weight: float = Field(default=1.0, gt=0)  # faces: the auxiliary's weight when toggled on
    report: str = "reports/ssl.json"
    out_dir: str = "models/ssl_experiment"


class PretrainConfig(Section):
    out_dir: str = "models/pretrain"
    reports_dir: str = "reports"  # <reports_dir>/pretrain_<stream>.json
    probe: Literal["speaker", "plain"] = "speaker"  # linear-probe protocol (avemo.ssl.probe)
    audio: PretrainStream = PretrainStream(objective="vicreg", epochs=30)
    visual: PretrainStream = PretrainStream(objective="simclr", compare=["simclr", "byol"], epochs=8, lr=2e-3)
    objectives: dict[Objective, dict[str, float]] = {
        "simclr": {"temperature": 0.1}, "vicreg": {"sim": 25.0, "var": 25.0, "cov": 1.0}, "byol": {"tau": 0.99}}  # per-objective settings, e.g. simclr: {temperature: 0.1}
    experiment: SSLExperiment = SSLExperiment()


class PseudoSelect(Section):
    fraction: float = Field(default=0.5, gt=0, le=1)     # keep at most this fraction of the items
    bins: int = Field(default=4, ge=1)                    # valence-arousal grid (bins x bins) to balance over
    max_uncertainty: float | None = Field(default=None, gt=0)  # also drop items less certain than this
    max_group_share: float | None = Field(default=0.1, gt=0, le=1)  # cap per talk/speaker: share of the kept items


class PseudoExperiment(Section):
    """``avemo pseudo-experiment``: teacher vs student at several gold-label fractions."""

    fractions: list[Annotated[float, Field(gt=0, le=1)]] = [0.1, 0.25, 1.0]
    seeds: list[int] = Field(default=[42, 7, 123], min_length=1)
    withheld_as_unlabelled: bool = True  # the train clips whose gold labels a run hides join the unlabelled pool
    out_dir: str = "models/pseudo_experiment"
    # the file whose <!-- label-efficiency:start/end --> block gets the table (null: none)
    readme: str | None = "docs/pseudo-labels.md"


class PseudoConfig(Section):
    """The ``pseudo_label`` stage: each stream's teacher labels its unlabelled corpus."""

    out_dir: str = "data/pseudo"                # <out_dir>/<stream>.parquet (a DVC artifact each)
    report: str = "reports/pseudo.json"
    corpora: dict[Literal["audio", "visual"], str] = {"audio": "tedlium", "visual": "facesynthetics"}
    passes: int = Field(default=10, ge=1)       # MC-dropout passes (1 = no uncertainty)
    # streams whose passes also draw the training augmentation (test-time augmentation): the
    # spread then also says how far noise, level and masking move the prediction
    tta: list[Literal["audio", "visual"]] = ["audio"]
    min_spread: float = Field(default=0.25, ge=0)  # a dimension spread < this x its val spread is not labelled
    min_reliability: float = Field(default=0.3, ge=0, le=1)  # nor one whose teacher's val CCC is below this
    seed: int = 0
    # audio-visual unlabelled clips: each dimension is labelled by the stream teacher that
    # scores higher on it on validation (cross-modal distillation)
    cross_modal: bool = True
    select: PseudoSelect = PseudoSelect()
    experiment: PseudoExperiment = PseudoExperiment()


class StudentConfig(Section):
    """The ``student`` stage: gold + confidence-weighted pseudo labels (noisy-student rounds)."""

    out_dir: str = "models/student"
    streams: list[Literal["audio", "visual"]] = ["audio", "visual"]
    pseudo_weight: float = Field(default=0.5, ge=0)  # a pseudo label's weight = this x its confidence
    rounds: int = Field(default=1, ge=1)             # > 1: each student relabels for the next round
    init: Literal["teacher", "pretrained"] = "teacher"  # teacher weights, or the teacher's own start
    # the student's learning rate: this x train.lr, or "unlabelled_share": the share of the gold
    # train clips whose labels its teacher did not see (never below 0.1): a teacher that saw
    # them all is only fine-tuned, one trained on a fraction is retrained on the rest's labels
    lr_mult: Annotated[float, Field(gt=0)] | Literal["unlabelled_share"] = "unlabelled_share"


class LateFusionConfig(Section):
    steps: int = Field(default=300, ge=1)       # Adam steps on the validation predictions
    lr: float = Field(default=0.05, gt=0)


class AttentionFusionConfig(Section):
    dim: int = Field(default=64, ge=8)
    heads: int = Field(default=4, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    modality_dropout: float = Field(default=0.3, ge=0, lt=1)  # drop one stream of a training sample
    max_epochs: int = Field(default=60, ge=1)
    patience: int = Field(default=10, ge=1)
    batch_size: int = Field(default=32, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)


class NoisyVideo(Section):
    cutout_frac: float = Field(default=0.4, gt=0, le=1)   # one occluder of this side over every frame
    noise_std: float = Field(default=0.1, ge=0)            # Gaussian pixel noise (pixels in [0, 1])


class FusionModes(Section):
    noisy_audio_snr_db: float = 0.0
    noisy_video: NoisyVideo = NoisyVideo()


class FuseConfig(Section):
    out_dir: str = "models/fusion"               # <out_dir>/<method>/
    # the stream models fused: teacher, student, or best (the higher validation mean CCC)
    sources: dict[Literal["audio", "visual"], Literal["teacher", "student", "best"]] = {
        "audio": "best", "visual": "best"}
    methods: list[Literal["late", "attention"]] = ["late", "attention"]
    late: LateFusionConfig = LateFusionConfig()
    attention: AttentionFusionConfig = AttentionFusionConfig()
    modes: FusionModes = FusionModes()
    offsets: bool = True   # per-stream, per-dimension offsets fit on validation (bias correction)
    seed: int = 0


class PredictConfig(Section):
    model: str = "best"            # a fuse method (late | attention), best (higher val CCC), or a model folder
    window_s: float = Field(default=4.0, gt=0)   # sliding windows over the file ...
    hop_s: float = Field(default=1.0, gt=0)      # ... every hop_s seconds
    chunk_s: float = Field(default=60.0, gt=0)   # media is read this many seconds at a time (bounded memory)
    max_frame_px: int = Field(default=360, ge=32)  # frames taller than this are downscaled before face tracking
    silence_dbfs: float = -60.0    # a window whose audio RMS level is below this is predicted without its audio
    min_face_rate: float = Field(default=0.5, ge=0, le=1)   # a video with a face in fewer frames gets a note
    narrowband_ratio: float = Field(default=1e-3, ge=0)     # audio with less of its power above 4 kHz gets a note
    batch_size: int = Field(default=32, ge=1)
    out_dir: str = "predictions"   # <out_dir>/<file name>.{csv,json,png}, e.g. talk.mp4.csv


class ReleaseConfig(Section):
    model: str = "best"            # late | attention | best | a fused-model folder
    out_dir: str = "release"       # the Hub-ready folder: model.safetensors, config.json, README.md
    license: str = "apache-2.0"    # model card licence (a Hub licence id)
    private: bool = True           # a repo that `avemo release` creates starts private


class RegistryConfig(Section):
    fused_name: str = "avemo-fusion"     # registered model of the fused models (late, attention versions)
    stream_prefix: str = "avemo-"        # per-stream models register as <prefix>audio / <prefix>visual
    margin: float = Field(default=0.0, ge=0)  # promote only when val CCC mean beats the champion's by more
    report: str = "reports/registry.json"


class ServeConfig(Section):
    model_name: str = "avemo-fusion"      # the BentoML model-store name of the packaged champion
    bentoml_home: str = ".bentoml"        # BENTOML_HOME for package and serve (inside the project)
    bentofile: str = "bentos/bentofile.yaml"
    max_upload_mb: float = Field(default=50.0, gt=0)   # larger requests get 413 before they are read
    min_audio_s: float = Field(default=0.5, gt=0)      # shorter audio-only uploads get 422
    # checked from the container's headers before anything is decoded: 413 above either
    max_duration_s: float = Field(default=600.0, gt=0)
    max_video_frames: int = Field(default=36000, ge=1)  # duration x frame rate (10 min at 60 fps)
    max_request_s: float = Field(default=60.0, gt=0)   # 503 for a request still running after this
    device: Literal["cpu", "gpu", "cuda", "mps", "auto"] = "auto"  # CPU (one log line) when absent
    report: str = "reports/package.json"


class OrchestrateConfig(Section):
    # dvc: each step is `dvc repro --single-item <stage>` (unchanged stages are skipped through
    # DVC's cache); direct: the stage commands run in-process on this params file
    mode: Literal["dvc", "direct"] = "dvc"
    task_runner: Literal["threads", "dask"] = "threads"   # dask: prefect-dask (in the all extra)
    max_workers: int = Field(default=2, ge=1)              # threads (or Dask workers) for mapped extraction
    retries: int = Field(default=2, ge=0)                  # for the tasks that do I/O
    retry_delay_s: float = Field(default=10.0, ge=0)
    deployment: str = "avemo-retrain-weekly"
    cron: str = "0 3 * * 1"                                # weekly: Mondays 03:00
    timezone: str = "UTC"
    release_repo: str | None = None                        # ORG/NAME: release the champion after packaging


class BenchConfig(Section):
    report: str = "reports/bench.json"
    table: str = "reports/bench.md"
    # the least each headline figure must reach (checks in the report)
    targets: dict[str, float] = {"audio_arousal_minus_egemaps": 0.05, "fused_minus_best_peer": 0.05,
                                 "fused_over_oracle": 0.9, "audio_features_x_opensmile": 10.0}
    max_repro_s: float = 600.0  # the most a default `dvc repro` from scratch may take (--repro)


class TrackingConfig(Section):
    backends: list[Literal["mlflow", "comet"]] = ["mlflow", "comet"]   # []: no tracking (quick runs, bare hosts)
    mlflow_uri: str = "sqlite:///mlruns.db"
    experiment: str = "avemo"
    artifact_dir: str = "mlruns"
    comet_project: str = "avemo"
    comet_workspace: str | None = None


class EvaluateConfig(Section):
    report: str = "reports/metrics.json"
    plots_dir: str = "reports/plots"


class Params(Section):
    synthesize: SynthesizeConfig
    ingest: IngestConfig
    validate_: ValidateConfig = Field(alias="validate")
    features: FeaturesConfig = FeaturesConfig()
    augment: AugmentConfig = AugmentConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    teacher: TeacherConfig = TeacherConfig()
    pretrain: PretrainConfig = PretrainConfig()
    pseudo: PseudoConfig = PseudoConfig()
    student: StudentConfig = StudentConfig()
    fuse: FuseConfig = FuseConfig()
    predict: PredictConfig = PredictConfig()
    release: ReleaseConfig = ReleaseConfig()
    registry: RegistryConfig = RegistryConfig()
    serve: ServeConfig = ServeConfig()
    orchestrate: OrchestrateConfig = OrchestrateConfig()
    bench: BenchConfig = BenchConfig()
    tracking: TrackingConfig = TrackingConfig()
    evaluate: EvaluateConfig = EvaluateConfig()

    @model_validator(mode="after")
    def _stats_need_utterance(self) -> Params:
        if self.model.audio.stats and self.features.audio.normalise != "utterance":
            raise ValueError("model.audio.stats normalises each utterance inside the model: "
                             "set features.audio.normalise: utterance (or model.audio.stats: false)")
        return self


def _format_errors(err: ValidationError, source: str) -> str:
    lines = [f"{source}: {len(err.errors())} invalid setting(s):"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        key = key.replace("validate_", "validate")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (typo? remove it or check the section's allowed keys)"
        else:
            msg = e["msg"]
        got = "" if e["type"] == "missing" else f" (got {e.get('input')!r})"
        lines.append(f"  - {key}: {msg}{got if e['type'] != 'extra_forbidden' else ''}")
    return "\n".join(lines)


def parse(raw: dict, source: str = DEFAULT_PARAMS) -> Params:
    """Validate a params mapping; raise ConfigError naming every bad key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: top level must be a mapping of stage sections")
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


def load(path: str | Path = DEFAULT_PARAMS) -> Params:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found (run from the project root or pass --params)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse(raw, str(path))
