"""Synthetic speech from eSpeak NG (through espeakng-loader) whose prosody follows a latent.

eSpeak keeps static state between calls (pitch flutter, filter phases), so its output is
deterministic only for a fixed sequence of calls from the same starting state: the corpus
generator forks every task from a freshly initialised engine.

Arousal drives speaking rate, pitch level, pitch range, loudness and spectral brightness
strongly; valence moves pitch level and brightness only a little. Each speaker is an eSpeak
voice variant with its own base pitch and rate.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal

ESPEAK_RATE = 22050
# Variants whose output is a pure function of the call sequence in a fresh process
# (en+f2, en+f3 and en+f5 add noise that differs from run to run).
FEMALE = ("f1", "f4", "Annie", "anika")
MALE = ("m1", "m2", "m3", "m4", "m6", "m7")
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_AUTO = 1
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4

WORDS = ["the", "a", "we", "you", "they", "it", "this", "that", "there", "here", "now", "then", "today", "tomorrow", "really", "maybe", "house", "road", "window", "table", "paper", "letter", "garden", "river", "city", "morning", "evening", "water", "coffee", "train", "meeting", "office", "weekend", "dinner", "music", "story", "picture", "answer", "question", "walk", "talk", "see", "know", "think", "bring", "leave", "call", "find", "tell", "wait", "open", "close", "start", "keep", "again", "never", "always", "almost", "still", "just", "only", "about", "around", "before", "after", "over", "under", "blue", "green", "small", "large", "early", "late", "quiet", "long", "short", "simple", "ready", "certain", "other"]


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: an eSpeak variant plus a personal pitch and tempo."""

    variant: str  # e.g. "en+f3"
    base_pitch: float  # eSpeak pitch parameter, 0-99
    base_rate: float  # words per minute

    @staticmethod
    def sample(rng: np.random.Generator, gender: str) -> Voice:
        variants = FEMALE if gender == "F" else MALE
        base = 58.0 if gender == "F" else 38.0
        return Voice(
            variant=f"en+{rng.choice(variants)}",
            base_pitch=float(base + rng.uniform(-6, 6)),
            base_rate=float(rng.uniform(150, 185)),
        )


class _Engine:
    """The eSpeak NG library, initialised once per process (its state is global)."""

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if rate != ESPEAK_RATE:
            raise RuntimeError(f"eSpeak NG failed to initialise (returned {rate})")
        self.lib = lib
        self.chunks: list[np.ndarray] = []
        proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

        def _collect(wav, n, _events):
            if n > 0 and wav:
                self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = proto(_collect)  # keep a reference: eSpeak holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]

    def say(self, text: str, variant: str, rate: float, pitch: float, range_: float) -> np.ndarray:
        lib = self.lib
        if lib.espeak_SetVoiceByName(variant.encode()) != 0:
            raise RuntimeError(f"eSpeak NG has no voice {variant!r}")
        lib.espeak_SetParameter(_RATE, int(np.clip(rate, 80, 450)), 0)
        lib.espeak_SetParameter(_PITCH, int(np.clip(pitch, 0, 99)), 0)
        lib.espeak_SetParameter(_RANGE, int(np.clip(range_, 0, 99)), 0)
        lib.espeak_SetParameter(_VOLUME, 100, 0)
        self.chunks = []
        raw = text.encode()
        lib.espeak_Synth(raw, len(raw) + 1, 0, 0, 0, _CHARS_AUTO, None, None)
        lib.espeak_Synchronize()
        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self.chunks).astype(np.float32) / 32768.0


@lru_cache(maxsize=1)
def engine() -> _Engine:
    """The process's eSpeak NG engine, initialised on first use (~2 s)."""
    return _Engine()


def random_text(rng: np.random.Generator, n_words: int) -> str:
    return " ".join(rng.choice(WORDS, size=n_words))


def _brighten(x: np.ndarray, amount: float, sr: int) -> np.ndarray:
    """Tilt the spectrum: amount > 0 boosts energy above ~2 kHz, < 0 dulls it."""
    sos = signal.butter(2, 2000, btype="highpass", fs=sr, output="sos")
    return x + amount * signal.sosfilt(sos, x)


def speak(
    text: str,
    voice: Voice,
    valence: float,
    arousal: float,
    sample_rate: int = 16000,
) -> np.ndarray:
    """One phrase at a fixed (valence, arousal): float32 mono at ``sample_rate``, unnormalised."""
    x = engine().say(
        text,
        voice.variant,
        rate=voice.base_rate * (1.0 + 0.32 * arousal + 0.03 * valence),
        pitch=voice.base_pitch + 20.0 * arousal + 3.0 * valence,
        range_=50.0 + 35.0 * arousal,
    )
    x = _brighten(x, 0.9 * arousal + 0.1 * valence, ESPEAK_RATE)
    x = x * 10.0 ** ((7.0 * arousal) / 20.0)  # loudness: +-7 dB
    if sample_rate != ESPEAK_RATE:
        g = np.gcd(sample_rate, ESPEAK_RATE)
        x = signal.resample_poly(x, sample_rate // g, ESPEAK_RATE // g)
    return x.astype(np.float32)


def utterance(
    rng: np.random.Generator,
    voice: Voice,
    trajectory: np.ndarray,
    n_words: int,
    sample_rate: int = 16000,
    snr_db: float | None = 25.0,
) -> tuple[np.ndarray, str]:
    """A few phrases whose prosody follows ``trajectory`` ((k, 2) valence, arousal per phrase),
    with short pauses between them and background noise at ``snr_db`` (None: clean).
    Returns the audio and its transcript."""
    parts: list[np.ndarray] = []
    texts: list[str] = []
    per = max(1, n_words // len(trajectory))
    for v, a in trajectory:
        texts.append(random_text(rng, per))
        parts.append(speak(texts[-1], voice, float(v), float(a), sample_rate))
        parts.append(np.zeros(int(sample_rate * rng.uniform(0.05, 0.2)), dtype=np.float32))
    x = np.concatenate(parts)
    lead = np.zeros(int(sample_rate * rng.uniform(0.05, 0.15)), dtype=np.float32)
    x = np.concatenate([lead, x])
    text = " ".join(texts)
    return (x if snr_db is None else add_noise(rng, x, snr_db)), text


def add_noise(rng: np.random.Generator, x: np.ndarray, snr_db: float) -> np.ndarray:
    """Add pinkish background noise at ``snr_db`` relative to the active speech power."""
    active = x[np.abs(x) > 0.02 * (np.abs(x).max() + 1e-9)]
    p_sig = float(np.mean(active**2)) if active.size else 1e-6
    white = rng.standard_normal(x.size + 1).astype(np.float32)
    pink = signal.lfilter([1.0], [1.0, -0.9], white[1:]).astype(np.float32)
    pink /= np.sqrt(np.mean(pink**2)) + 1e-12
    return (x + pink * np.sqrt(p_sig / 10.0 ** (snr_db / 10.0))).astype(np.float32)


def envelope(x: np.ndarray, sample_rate: int, fps: float) -> np.ndarray:
    """Speech amplitude envelope at video frame rate, in [0, 1] (drives lip sync)."""
    hop = round(sample_rate / fps)
    n = max(1, int(np.ceil(x.size / hop)))
    padded = np.zeros(n * hop, dtype=np.float32)
    padded[: x.size] = x
    rms = np.sqrt(np.mean(padded.reshape(n, hop) ** 2, axis=1))
    ref = np.percentile(rms, 95) + 1e-9
    return np.clip(rms / ref, 0.0, 1.0)
