"""IEMOCAP-shaped corpus: five sessions, two actors each, dialogs with EmoEvaluation files,
utterance wavs and one side-by-side dialog video with an audio track."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from avemo.config import SynthesizeConfig
from avemo.data.synthetic import faces, labels, media, speech

HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"


@dataclass(frozen=True)
class Actor:
    speaker: str  # e.g. "Ses01_F"
    gender: str
    voice: speech.Voice
    identity: faces.Identity
    expressiveness: float  # how strongly the latent shows in voice and face


def actors(rng: np.random.Generator, session: int) -> dict[str, Actor]:
    out = {}
    for g in ("F", "M"):
        out[g] = Actor(
            speaker=f"Ses{session:02d}_{g}",
            gender=g,
            voice=speech.Voice.sample(rng, g),
            identity=faces.Identity.sample(rng),
            expressiveness=float(rng.uniform(0.75, 1.15)),
        )
    return out


def dialog_names(session: int, n: int) -> list[str]:
    """Alternate improvised and scripted dialogs, as in the real corpus."""
    names = []
    for k in range(n):
        marker = "F" if k % 2 == 0 else "M"
        if k % 2 == 0:
            names.append(f"Ses{session:02d}{marker}_impro{k // 2 + 1:02d}")
        else:
            names.append(f"Ses{session:02d}{marker}_script{k // 2 + 1:02d}_{k % 3 + 1}")
    return names


def _rater_lines(rng: np.random.Generator, r: labels.Rating) -> list[str]:
    cat_names = [labels.CATEGORY_NAMES.get(r.category, "Other")] * 3
    if r.category == "xxx":
        cat_names = [labels.CATEGORY_NAMES[c] for c in rng.choice(list(labels.CATEGORY_NAMES), 3)]
    lines = [f"C-E{i + 2}:\t{name}; ()" for i, name in enumerate(cat_names)]
    for i, (v, a, d) in enumerate(r.raters):
        lines.append(f"A-E{i + 2}:\tval {v}; act {a}; dom  {d};\t()")
    return lines


def generate_dialog(
    cfg: SynthesizeConfig, root: Path, session: int, dialog: str, cast: dict[str, Actor], seed: np.random.SeedSequence
) -> list[dict]:
    """Write one dialog (wavs, EmoEvaluation, avi); return its hidden per-utterance truth."""
    rng = np.random.default_rng(seed)
    sr, fps = cfg.audio.sample_rate, cfg.video.fps
    n_turns = cfg.corpus_size.turns_per_dialog
    mood = labels.sample_category(rng)
    rater_bias = rng.normal(0, 0.25, (cfg.labels.raters, 3))
    counters = {"F": 0, "M": 0}
    t = float(rng.uniform(0.5, 1.5))
    turns = []
    for _ in range(n_turns):
        g = "F" if (len(turns) % 2 == 0) ^ (rng.random() < 0.2) else "M"
        actor = cast[g]
        cat = labels.sample_category(rng, bias=mood)
        centre = labels.sample_latent(rng, cat)
        n_phr = int(rng.integers(2, 4))
        traj = labels.trajectory(rng, centre, n_phr, cfg.labels.drift)
        shown = np.clip(traj * actor.expressiveness, -1, 1)
        x, _ = speech.utterance(
            rng, actor.voice, shown[:, :2], n_words=int(rng.integers(5, 11)), sample_rate=sr,
            snr_db=float(rng.uniform(*cfg.audio.snr_db)),
        )
        utt = f"{dialog}_{g}{counters[g]:03d}"
        counters[g] += 1
        media.write_wav(root / f"Session{session}/sentences/wav/{dialog}/{utt}.wav", x, sr)
        latent = traj.mean(axis=0)
        rating = labels.rate(rng, latent, cat, cfg.labels.raters, cfg.labels.rater_noise, rater_bias)
        start, end = t, t + x.size / sr
        face = labels.face_expression(rng, shown)
        turns.append(dict(utt=utt, g=g, start=start, end=end, audio=x, face=face, rating=rating, latent=latent))
        t = end + float(rng.uniform(0.2, 0.9))
    total = t + 0.5

    eva = root / f"Session{session}/dialog/EmoEvaluation/{dialog}.txt"
    eva.parent.mkdir(parents=True, exist_ok=True)
    blocks = [HEADER.rstrip("\n")]
    for tr in turns:
        v, a, d = tr["rating"].value
        code = tr["rating"].category
        line = f"[{tr['start']:.4f} - {tr['end']:.4f}]\t{tr['utt']}\t{code}\t[{v:.4f}, {a:.4f}, {d:.4f}]"
        blocks.append("\n".join([line, *_rater_lines(rng, tr["rating"])]))
    eva.write_text("\n\n".join(blocks) + "\n")

    mix = np.zeros(int(total * sr) + 1, dtype=np.float32)
    for tr in turns:
        i = int(tr["start"] * sr)
        mix[i : i + tr["audio"].size] += tr["audio"]
    media.write_avi(
        root / f"Session{session}/dialog/avi/DivX/{dialog}.avi",
        _frames(cfg, rng, cast, turns, total), fps, mix, sr,
    )
    return [
        dict(clip_id=tr["utt"], speaker=cast[tr["g"]].speaker, valence=tr["latent"][0],
             arousal=tr["latent"][1], dominance=tr["latent"][2],
             expressiveness=cast[tr["g"]].expressiveness)
        for tr in turns
    ]


def _frames(cfg: SynthesizeConfig, rng, cast: dict[str, Actor], turns: list[dict], total: float):
    """Both actors side by side (F left, M right); the speaker's face follows its latent and
    its lips the speech envelope; the listener holds the expression of their last turn."""
    fps, px, sr = cfg.video.fps, cfg.video.face_px, cfg.audio.sample_rate
    n = int(np.ceil(total * fps))
    envs = [speech.envelope(tr["audio"], sr, fps) for tr in turns]
    poses = {g: faces.Pose.sample(rng, 0.6) for g in cast}
    light = {g: faces.Nuisance.sample(rng, 0.5) for g in cast}
    state = {g: np.zeros(2) for g in cast}
    ti = 0
    for f in range(n):
        time = f / fps
        while ti < len(turns) and turns[ti]["end"] < time:
            state[turns[ti]["g"]] = turns[ti]["face"][-1]
            ti += 1
        opens = {g: 0.0 for g in cast}
        expr = dict(state)
        if ti < len(turns) and turns[ti]["start"] <= time:
            tr = turns[ti]
            frac = (time - tr["start"]) / (tr["end"] - tr["start"])
            expr[tr["g"]] = tr["face"][min(int(frac * len(tr["face"])), len(tr["face"]) - 1)]
            k = int((time - tr["start"]) * fps)
            opens[tr["g"]] = float(envs[ti][min(k, len(envs[ti]) - 1)])
        halves = []
        for g in ("F", "M"):
            p = poses[g]
            poses[g] = replace(
                p, yaw=0.9 * p.yaw + rng.normal(0, 1.5), pitch=0.9 * p.pitch + rng.normal(0, 1.0),
                roll=0.9 * p.roll + rng.normal(0, 1.0),
            )
            rgb, _, _ = faces.render_face(
                cast[g].identity, float(expr[g][0]), float(expr[g][1]), opens[g],
                pose=poses[g], nuisance=light[g], size=px, rng=rng,
            )
            halves.append(rgb)
        yield np.concatenate(halves, axis=1)
