"""The model card (``README.md``) of a released fused model: Hub metadata as YAML front
matter, then scores, evaluation modes, intended use, limits and how to load it."""

from __future__ import annotations

from avemo.tables import markdown_table

TAGS = ("audio-visual", "emotion-recognition", "valence-arousal", "affective-computing", "regression",
        "pytorch", "safetensors")
MODES = {  # avemo.fuse.modes.MODES: the test-time conditions the fuse stage scores
    "audio_visual": "both streams, clean",
    "audio_only": "face video missing",
    "video_only": "audio missing",
    "noisy_audio": "white noise on the audio",
    "noisy_video": "an occluder and pixel noise on every face frame",
}


def _num(scores: dict | None, key: str) -> str:
    value = (scores or {}).get(key)
    return "n/a" if value is None else f"{value:.3f}"


def _table(first: str, rows: list[tuple[str, dict | None]], targets: list[str]) -> str:
    body = [[name, *(_num(s, f"ccc_{t}") for t in targets), _num(s, "ccc_mean")] for name, s in rows]
    headers = [first, *(f"CCC {t}" for t in targets), "CCC mean"]
    return markdown_table(body, headers, align=["left"] + ["right"] * (len(targets) + 1))


def front_matter(license: str) -> str:
    from huggingface_hub import ModelCardData

    data = ModelCardData(library_name="avemo", license=license, tags=list(TAGS), metrics=["ccc"])
    return f"---\n{data.to_yaml()}\n---\n"


def render(cfg: dict, repo_id: str, license: str) -> str:
    """The card's text for a fused model's ``config.json`` (``scores`` and ``modes`` as the
    ``fuse`` stage writes them; missing ones show as n/a)."""
    targets = list(cfg["targets"])
    scores = cfg.get("scores", {})
    modes = cfg.get("modes", {})
    fusion = cfg["fusion"]["name"]
    encoders = ", ".join(f"{s}: {c['encoder']} (dim {c['dim']})" for s, c in cfg["streams"].items())
    mode_rows = [(f"{m}: {desc}", modes.get(m)) for m, desc in MODES.items()]
    return f"""{front_matter(license)}
# {repo_id.split("/")[-1]}: audio-visual valence and arousal

An avemo fused model: an audio model (log-mel of 16 kHz speech) and a
visual model (tracked grey face crops) joined by **{fusion} fusion**. It predicts
{" and ".join(targets)} of the speaker, each in [-1, 1], for a clip or, through the avemo
pipeline, over sliding windows of any audio or video file. A clip missing one stream is
predicted from the other.

Streams: {encoders}. Weights: `model.safetensors` (no pickle); settings: `config.json`.

## Scores

Concordance correlation coefficient (CCC, higher is better; 1 is perfect agreement).

{_table("split", [("validation", scores.get("val")), ("test", scores.get("test"))], targets)}

## Evaluation modes (test split)

{_table("mode", mode_rows, targets)}

## Intended use

Research on and demos of dimensional emotion recognition from speech and faces: trend
curves of valence and arousal over a recording, comparing fusion methods, robustness to a
missing or degraded stream.

## Limits

- By default avemo trains on **synthetic embedded corpora** shaped like IEMOCAP, TED-LIUM 3
  and FaceSynthetics; the scores above are on such data, not on real recordings. Check
  `config.json` and the training run before trusting it on real people.
- Label scale: valence and arousal in [-1, 1]; IEMOCAP ratings (1-5) are mapped by
  (x - 3) / 2. Other corpora's scales must be mapped the same way before comparing.
- Modelled on acted English dialogue with one face per frame; other languages, cultures, spontaneous speech,
  several faces, occlusion and poor light are out of distribution.
- Emotion is inferred from expression, not known: **not for high-stakes decisions** about
  people (hiring, health, policing, education, credit) and not for surveillance.

## How to load

```bash
# with the avemo package installed
avemo pull {repo_id} --revision REVISION                 # pin a branch, tag or commit
avemo pull {repo_id} --revision REVISION --predict talk.mp4
```

```python
from avemo.hub.release import pull
pipeline = pull("{repo_id}", revision="REVISION")
result = pipeline.predict_file("talk.mp4")   # result.series, result.summary
```
"""
