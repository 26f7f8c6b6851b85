"""The embedded corpora: real layouts, readable by the real readers, deterministic."""

import hashlib
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from avemo import config
from avemo.data import facesynthetics, iemocap, tedlium
from avemo.data.synthetic import corpus


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, raw_params):
    out = tmp_path_factory.mktemp("corpus") / "raw"
    raw = {**raw_params, "synthesize": {**raw_params["synthesize"], "size": "tiny", "out_dir": str(out)}}
    cfg = config.parse(raw)
    summary = corpus.run(cfg.synthesize)
    return cfg, out, summary


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_iemocap_layout_and_formats(tiny):
    cfg, out, _ = tiny
    root = out / "iemocap"
    for s in range(1, 6):
        assert (root / f"Session{s}/dialog/EmoEvaluation").is_dir()
    evals = sorted(root.glob("Session*/dialog/EmoEvaluation/*.txt"))
    assert len(evals) == 5 * cfg.synthesize.corpus_size.dialogs_per_session
    text = evals[0].read_text()
    assert text.startswith("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]")
    assert "\nA-E2:\tval " in text and "\nC-E2:\t" in text  # rater lines under each turn
    df = iemocap.read(root, cfg.ingest.splits)
    assert len(df) == 5 * cfg.synthesize.corpus_size.dialogs_per_session * cfg.synthesize.corpus_size.turns_per_dialog
    assert set(df["speaker"]) == {f"Ses{s:02d}_{g}" for s in range(1, 6) for g in "FM"}
    assert df[["valence", "arousal", "dominance"]].abs().max().max() <= 1
    halves = (df["valence"] * 2 + 3) * 2  # back on the 1-5 scale, in half steps
    assert np.allclose(halves, np.round(halves))
    info = sf.info(str(root / df["audio_path"].iloc[0]))
    assert (info.samplerate, info.channels) == (16000, 1)


def test_dialog_video_has_both_actors_and_audio(tiny):
    cfg, out, _ = tiny
    avi = sorted((out / "iemocap").glob("Session1/dialog/avi/DivX/*.avi"))[0]
    with av.open(str(avi)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height) == (2 * cfg.synthesize.video.face_px, cfg.synthesize.video.face_px)
        assert c.streams.audio[0].sample_rate == 16000
        frames = sum(1 for _ in c.decode(video=0))
    turns = iemocap.parse_evaluation(sorted((out / "iemocap").glob("Session1/dialog/EmoEvaluation/*.txt"))[0])
    assert frames / cfg.synthesize.video.fps >= turns[-1].end  # the video covers every turn


def test_tedlium_sphere_stm_and_hidden_truth(tiny):
    _, out, _ = tiny
    root = out / "tedlium"
    sph = sorted(root.glob("data/sph/*.sph"))
    assert sph and sf.info(str(sph[0])).format == "NIST"
    df = tedlium.read(root)
    assert (df["split"] == "unlabelled").all() and df["valence"].isna().all()
    truth = pd.concat(pd.read_csv(p) for p in (root / "_truth").glob("*.csv"))
    assert len(truth) == len(df)  # one hidden latent per scored segment


def test_facesynthetics_files(tiny):
    cfg, out, _ = tiny
    root = out / "facesynthetics"
    df, missing = facesynthetics.read(root)
    assert len(df) == cfg.synthesize.corpus_size.faces and missing == 0
    lm = facesynthetics.read_landmarks(root / "000000_ldmks.txt")
    seg = cv2.imread(str(root / "000000_seg.png"), cv2.IMREAD_UNCHANGED)
    px = cfg.synthesize.video.image_px
    assert lm.shape == (70, 2) and seg.shape == (px, px)
    assert set(np.unique(seg)) <= set(range(19)) | {255}
    assert (root / "_truth/faces.csv").is_file()


def test_deterministic_regardless_of_workers(tiny, tmp_path):
    cfg, out, _ = tiny
    again = cfg.synthesize.model_copy(update={"out_dir": str(tmp_path / "raw"), "workers": 1})
    corpus.run(again)
    assert _digest(tmp_path / "raw") == _digest(out)


def test_rerun_replaces_output_whole(tiny, tmp_path):
    cfg, _, _ = tiny
    target = tmp_path / "raw"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    corpus.run(cfg.synthesize.model_copy(update={"out_dir": str(target)}))
    assert not (target / "stale.txt").exists()
    assert (target / "iemocap").is_dir()
