"""The inference pipeline: preprocessing and the fused model, written once. ``avemo
predict``, the HTTP service and a released model all run through :class:`Pipeline`.

A file is cut into windows of ``window_s`` every ``hop_s`` seconds (one window when it is
shorter). Media is read ``chunk_s`` seconds at a time, so memory stays bounded on long
files. Each window gets the same front-end as training: a log-mel of its audio normalised
like the training features, and grey face crops from a Haar face track at the model's video
frame rate. A window without audio, or without any face detection, is predicted from the
other stream alone (the fusion falls back), and its ``streams`` column says which it used.
A window's audio is not used when it holds non-finite samples or is silent (RMS level below
``predict.silence_dbfs``): its ``audio_dropped`` column says why, and a note counts them. The
clip summary averages the windows that have a prediction and says how many that is; a file
with none raises :class:`NothingToPredict`, never a made-up number.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from avemo import device, media
from avemo.config import PredictConfig, VideoFeatures
from avemo.features import audio as audio_fe
from avemo.features import video as video_fe
from avemo.models import fused
from avemo.models.batch import pad

DIMS = ("valence", "arousal")
MIN_AUDIO_FRAMES = 8  # log-mel frames (80 ms at a 10 ms hop): shorter windows are predicted without audio
NARROW_BAND_HZ = 4000  # telephone-band audio (8 kHz sampling) holds next to nothing above this


class NothingToPredict(ValueError):
    """No window of the file has usable audio or a detected face."""


class OverBudget(RuntimeError):
    """The file took longer than the caller's time budget (checked between chunks)."""


@dataclass
class Result:
    """A file's predictions: ``series`` (one row per window), ``summary`` (clip level) and
    ``notes`` (fallbacks and other things the user should know)."""

    series: pd.DataFrame
    summary: dict
    notes: list[str] = field(default_factory=list)


def windows(duration_s: float, window_s: float, hop_s: float) -> np.ndarray:
    """Window start times covering ``[0, duration_s)``: every ``hop_s`` while a whole window
    fits, plus a last one ending at the end of the file; one window for a short file."""
    if duration_s <= window_s:
        return np.zeros(1)
    starts = np.arange(0.0, duration_s - window_s + 1e-9, hop_s)
    if duration_s - (starts[-1] + window_s) > 1e-6:
        starts = np.append(starts, duration_s - window_s)
    return starts


class Pipeline:
    """Media -> the front-end the model was trained on -> the fused model on ``dev`` (the
    front-end runs on the CPU; model inputs move to ``dev`` and outputs come back)."""

    def __init__(self, model: fused.FusedModel, cfg: dict, settings: PredictConfig | None = None,
                 dev: torch.device | str = "cpu"):
        self.device = torch.device(dev)
        self.model, self.cfg = model.to(self.device).eval(), cfg
        self.settings = settings or PredictConfig()
        self.targets = list(cfg["targets"])
        feats = cfg["features"]
        self.audio_cfg = feats["audio"]
        self.video_cfg = VideoFeatures(**feats["video"])
        self.frame_rate = float(cfg["video_frame_rate"])
        self.tracker = video_fe.FaceTracker.from_config(self.video_cfg)
        stats = cfg.get("audio_stats")
        self.stats = None if stats is None else (torch.tensor(stats["mean"]), torch.tensor(stats["std"]))
        self.raw_audio = bool(cfg["streams"]["audio"].get("stats", False))  # the model normalises itself

    @classmethod
    def from_dir(cls, model_dir: str | Path, settings: PredictConfig | None = None,
                 dev: torch.device | str = "cpu") -> Pipeline:
        return cls(*fused.load(model_dir), settings, dev)

    # ------------------------------------------------------------------ front-end

    def log_mel(self, wave: np.ndarray) -> torch.Tensor:
        a = self.audio_cfg
        return audio_fe.log_mel(wave, a["n_mels"], a["win_ms"], a["hop_ms"])

    def normalise(self, mel: torch.Tensor) -> torch.Tensor:
        """A clip's log-mel -> the model's input, normalised as the training features were."""
        if self.raw_audio:
            return mel.float()
        return audio_fe.utterance_normalise(mel) if self.stats is None else audio_fe.normalise(mel, *self.stats)

    def audio_input(self, wave: np.ndarray) -> torch.Tensor:
        """16 kHz mono samples -> the model's ``(frames, n_mels)`` input."""
        return self.normalise(self.log_mel(wave))

    def face_crops(self, frames: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        """Grey frames ``(T, H, W)`` -> ``(crops (T, px, px) in [0, 1], detected (T,))``."""
        crops, detected = video_fe.face_crops(frames, self.video_cfg, self.tracker)
        return torch.from_numpy(crops).float() / 255.0, detected

    # ------------------------------------------------------------------ model

    @torch.no_grad()
    def predict_inputs(self, audio: list[torch.Tensor] | None, visual: list[torch.Tensor] | None) -> dict:
        """Model inputs (lists of per-item tensors, None for a missing stream) -> numpy outputs."""
        given = {"audio": pad(audio) if audio else None, "visual": pad(visual) if visual else None}
        out = self.model(**{k: device.move(v, self.device) for k, v in given.items()})
        return {k: None if v is None else v.float().cpu().numpy() for k, v in out.items()}

    def predict_clip(self, wave: np.ndarray | None = None, frames: np.ndarray | None = None) -> dict:
        """One clip (16 kHz samples and/or grey frames at the model's frame rate) -> values."""
        a = [self.audio_input(wave)] if wave is not None and wave.size else None
        v = None
        if frames is not None and len(frames):
            crops, detected = self.face_crops(frames)
            v = [crops] if detected.any() else None
        if a is None and v is None:
            raise ValueError("nothing to predict from: no audio and no detectable face")
        out = self.predict_inputs(a, v)
        return {"fused": dict(zip(self.targets, out["clip"][0].tolist(), strict=True)),
                **{s: None if out[s] is None else dict(zip(self.targets, out[s][0].tolist(), strict=True))
                   for s in ("audio", "visual")}}

    # ------------------------------------------------------------------ files

    def predict_file(self, path: str | Path, progress: Callable[[int, int], None] | None = None,
                     audio_path: str | Path | None = None, deadline: float | None = None) -> Result:
        """Sliding-window predictions over an audio or video file; with ``audio_path``, the
        audio comes from that file instead (a separate recording of the same scene). With
        ``deadline`` (a ``time.monotonic()`` value), :class:`OverBudget` is raised after the
        first chunk that ends past it."""
        s = self.settings
        info = media.probe(path)
        if audio_path is not None:
            sound = media.probe(audio_path)
            if not sound.has_audio:
                raise media.MediaError(f"{audio_path}: has no audio stream; pass an audio file")
            info = replace(info, has_audio=True, duration_s=max(info.duration_s, sound.duration_s)
                           if info.has_video else sound.duration_s)
        starts = windows(info.duration_s, s.window_s, s.hop_s)
        per_chunk = max(1, int(s.chunk_s // s.hop_s))
        rows: list[dict] = []
        any_face = False
        frames = np.zeros(2, int)  # video frames read, frames with a detected face
        band = np.zeros(2)  # audio power above 4 kHz, in all
        for c in range(0, len(starts), per_chunk):
            chunk = starts[c : c + per_chunk]
            new, seen, power = self._chunk(path, info, chunk, audio_path or path)
            if deadline is not None and time.monotonic() > deadline:
                raise OverBudget(f"{path}: not finished within the time budget ({len(rows) + len(new)} of "
                                 f"{len(starts)} windows done)")
            rows += new
            frames += seen
            band += power
            any_face |= any(r["face_rate"] > 0 for r in new)
            if progress:
                progress(min(c + per_chunk, len(starts)), len(starts))
        series = pd.DataFrame(rows)
        predicted = int(series[self.targets[0]].notna().sum())
        dropped = series["audio_dropped"].value_counts().to_dict() if "audio_dropped" in series else {}
        if not predicted:
            why = ", ".join(f"{n} window(s) with {k} audio" for k, n in dropped.items() if k)
            raise NothingToPredict(f"{path}: nothing to predict from: no usable audio and no detectable "
                                   f"face in any window{f' ({why})' if why else ''}")
        notes = []
        for kind, n in sorted(dropped.items()):
            if kind:
                notes.append(f"{n} window(s) with {kind} audio: their audio was not used")
        if not info.has_audio:
            notes.append("no audio stream: predicted from the face video alone")
        if info.has_video and not any_face:
            notes.append("no face detected in the video: predicted from the audio alone")
        elif info.has_video and (series["face_rate"] == 0).any():
            notes.append(f"{int((series['face_rate'] == 0).sum())} window(s) without a detected face used the audio alone")
        if not info.has_video:
            notes.append("no video stream: predicted from the audio alone")
        elif frames[0] and any_face and frames[1] / frames[0] < s.min_face_rate:
            notes.append(f"a face was found in only {frames[1] / frames[0]:.0%} of the frames (below "
                         f"predict.min_face_rate {s.min_face_rate:.0%}): the rest used the audio alone; a "
                         f"small, turned, rotated or badly lit face is often missed")
        rate = (sound.sample_rate if audio_path is not None else info.sample_rate) if info.has_audio else None
        high = band[0] / band[1] if band[1] > 0 else 1.0
        low_rate = bool(rate) and rate < audio_fe.SAMPLE_RATE
        if band[1] > 0 and (low_rate or high < s.narrowband_ratio):
            why = f"recorded at {rate} Hz" if low_rate else \
                f"{10 * np.log10(max(high, 1e-12)):.0f} dB of its energy above 4 kHz"
            notes.append(f"narrow-band audio ({why}): the model hears 16 kHz speech, and telephone-band "
                         f"audio shifts its predictions; use a wide-band recording where there is one")
        summary = {"file": str(path), "duration_s": round(info.duration_s, 3), "windows": len(series),
                   "windows_predicted": predicted,  # the clip values average these windows only
                   "window_s": s.window_s, "hop_s": s.hop_s,
                   **{d: float(series[d].mean()) for d in self.targets},
                   "streams": sorted(set(series["streams"])),
                   # share of the video frames read (at the model's frame rate) with a detected face
                   "face_rate": round(float(frames[1] / frames[0]), 3) if frames[0] else None}
        return Result(series, summary, notes)

    def _chunk(self, path, info: media.MediaInfo, starts: np.ndarray, audio_from) -> tuple[list[dict], np.ndarray]:
        """The rows of the windows starting at ``starts``, (frames read, frames with a face) and
        (audio power above 4 kHz, all audio power)."""
        s = self.settings
        lo, hi = float(starts[0]), float(min(starts[-1] + s.window_s, info.duration_s))
        wave = media.read_audio(audio_from, lo, hi) if info.has_audio else np.zeros(0, np.float32)
        broken = ~np.isfinite(wave)
        if broken.any():  # zeroed for the log-mel; the windows holding them do not use their audio
            wave = np.where(broken, 0.0, wave).astype(np.float32)
        mel = self.log_mel(wave) if wave.size else None  # once per chunk; windows slice it
        spectrum = np.abs(np.fft.rfft(wave.astype(np.float64))) ** 2 if wave.size else np.zeros(1)
        high = np.fft.rfftfreq(max(wave.size, 1), 1 / audio_fe.SAMPLE_RATE) > NARROW_BAND_HZ
        power = np.array([spectrum[high].sum(), spectrum.sum()])
        per_s = 1000.0 / self.audio_cfg["hop_ms"]
        frames, times = (media.read_frames(path, lo, hi, self.frame_rate, s.max_frame_px) if info.has_video
                         else (np.zeros((0, 0, 0), np.uint8), np.zeros(0)))
        crops, detected = self.face_crops(frames) if len(frames) else (None, np.zeros(0, bool))
        items = []
        for t0 in starts:
            t1 = min(t0 + s.window_s, info.duration_s)
            seg = mel[round((t0 - lo) * per_s) : round((t1 - lo) * per_s)] if mel is not None else []
            in_win = (times >= t0 - 1e-6) & (times < t1 - 1e-6)
            lost = self.unusable(wave, broken, t0 - lo, t1 - lo) if len(seg) >= MIN_AUDIO_FRAMES else ""
            a = self.normalise(seg) if len(seg) >= MIN_AUDIO_FRAMES and not lost else None
            v = crops[torch.from_numpy(in_win)] if crops is not None and detected[in_win].any() else None
            items.append((t0, t1, a, v, float(detected[in_win].mean()) if in_win.any() else 0.0, lost))
        rows = []
        for b in range(0, len(items), s.batch_size):
            rows += self._batch(items[b : b + s.batch_size])
        return rows, np.array([len(detected), int(detected.sum())]), power

    def unusable(self, wave: np.ndarray, broken: np.ndarray, t0: float, t1: float) -> str:
        """Why a window's audio (``t0``-``t1`` s into ``wave``) cannot be used: "non-finite",
        "silent" (RMS level below ``predict.silence_dbfs``), or "" when it can."""
        i0, i1 = round(t0 * audio_fe.SAMPLE_RATE), round(t1 * audio_fe.SAMPLE_RATE)
        if broken[i0:i1].any():
            return "non-finite"
        x = wave[i0:i1].astype(np.float64)
        power = float(np.mean(x * x)) if x.size else 0.0
        if power <= 0 or 10 * np.log10(power) < self.settings.silence_dbfs:
            return "silent"
        return ""

    def _batch(self, items: list) -> list[dict]:
        rows: list[dict] = []
        # windows of one batch may differ in which streams they have: predict each kind together
        for kind in ("av", "a", "v"):
            group = [it for it in items if ("a" in kind) == (it[2] is not None) and ("v" in kind) == (it[3] is not None)]
            if not group:
                continue
            out = self.predict_inputs([it[2] for it in group] if "a" in kind else None,
                                      [it[3] for it in group] if "v" in kind else None)
            for k, (t0, t1, *_rest, face_rate, lost) in enumerate(group):
                row = {"time_s": round((t0 + t1) / 2, 3), "start_s": round(float(t0), 3), "end_s": round(float(t1), 3)}
                row |= {d: float(out["clip"][k, n]) for n, d in enumerate(self.targets)}
                for stream in ("audio", "visual"):
                    vals = out[stream]
                    row |= {f"{stream}_{d}": float(vals[k, n]) if vals is not None else float("nan")
                            for n, d in enumerate(self.targets)}
                row["streams"] = {"av": "audio+visual", "a": "audio", "v": "visual"}[kind]
                row["face_rate"] = round(face_rate, 3)
                row["audio_dropped"] = lost
                rows.append(row)
        skipped = [it for it in items if it[2] is None and it[3] is None]
        for t0, t1, *_, lost in skipped:  # neither stream usable in this window: say so, predict nothing
            rows.append({"time_s": round((t0 + t1) / 2, 3), "start_s": round(float(t0), 3), "end_s": round(float(t1), 3),
                         **{d: float("nan") for d in self.targets}, "streams": "none", "face_rate": 0.0,
                         "audio_dropped": lost})
        return sorted(rows, key=lambda r: r["start_s"])
