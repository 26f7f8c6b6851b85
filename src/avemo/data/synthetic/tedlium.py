"""TED-LIUM-shaped unlabelled speech: one talk per speaker as NIST SPHERE plus an STM file.
The latent behind each segment goes to ``_truth/`` (for pseudo-label quality reports only)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from avemo.config import SynthesizeConfig
from avemo.data.synthetic import labels, media, speech

FIRST = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kai", "Lea", "Max", "Nia", "Omar", "Pia", "Raj", "Sue", "Tom", "Uma"]
LAST = ["Reyes", "Okafor", "Lind", "Moreau", "Tanaka", "Novak", "Silva", "Berg", "Costa", "Haas", "Ivanova", "Kim", "Walsh", "Dube"]


def talk_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        name = f"{rng.choice(FIRST)}{rng.choice(LAST)}_{2008 + len(names) % 12}{'X' if len(names) % 3 == 0 else ''}"
        if name not in names:
            names.append(name)
    return names


def generate_talk(cfg: SynthesizeConfig, root: Path, talk: str, seed: np.random.SeedSequence) -> None:
    rng = np.random.default_rng(seed)
    sr = cfg.audio.sample_rate
    gender = "F" if rng.random() < 0.5 else "M"
    voice = speech.Voice.sample(rng, gender)
    expressiveness = float(rng.uniform(0.75, 1.15))
    mood = labels.sample_category(rng)
    tag = f"<o,f0,{'female' if gender == 'F' else 'male'}>"
    pieces, stm, truth = [], [], []
    t = float(rng.uniform(1.0, 2.0))
    pieces.append(np.zeros(int(t * sr), dtype=np.float32))
    for _ in range(cfg.corpus_size.segments_per_talk):
        if rng.random() < 0.1:  # applause / music: in the audio, ignored by the STM
            x = (rng.standard_normal(int(rng.uniform(1, 3) * sr)) * 0.05).astype(np.float32)
            label, text = "<o,f0,unknown>", "ignore_time_segment_in_scoring"
        else:
            cat = labels.sample_category(rng, bias=mood)
            traj = labels.trajectory(rng, labels.sample_latent(rng, cat), int(rng.integers(2, 4)), cfg.labels.drift)
            shown = np.clip(traj * expressiveness, -1, 1)
            x, text = speech.utterance(rng, voice, shown[:, :2], n_words=int(rng.integers(6, 13)), sample_rate=sr, snr_db=None)
            label = tag
            v, a, d = traj.mean(axis=0)
            truth.append([talk, f"{t:.2f}", f"{t + x.size / sr:.2f}", f"{v:.4f}", f"{a:.4f}", f"{d:.4f}"])
        stm.append(f"{talk} 1 {talk} {t:.2f} {t + x.size / sr:.2f} {label} {text}")
        pieces.append(x)
        gap = np.zeros(int(rng.uniform(0.3, 1.2) * sr), dtype=np.float32)
        pieces.append(gap)
        t += (x.size + gap.size) / sr
    audio = speech.add_noise(rng, np.concatenate(pieces), float(rng.uniform(*cfg.audio.snr_db)))
    media.write_sphere(root / f"data/sph/{talk}.sph", audio, sr)
    stm_path = root / f"data/stm/{talk}.stm"
    stm_path.parent.mkdir(parents=True, exist_ok=True)
    stm_path.write_text("\n".join(stm) + "\n")
    truth_path = root / f"_truth/{talk}.csv"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    with truth_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["talk", "start", "end", "valence", "arousal", "dominance"])
        w.writerows(truth)
