import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from avemo import media
from avemo.data import manifest
from avemo.features import audio, stage, store

REPORT_KEYS = {"counts", "audio_seconds", "audio_rtf", "audio_rtf_with_io", "detection_rate", "fallback_clips",
               "video_frames", "stats_from", "workers", "cpus", "extract_s"}


@pytest.fixture(scope="module")
def built(tiny_corpus):
    """The stage run once on the tiny corpus (two forked workers)."""
    cfg = tiny_corpus.params.features.model_copy(update={"workers": 2})
    calls: list[tuple[int, int]] = []
    report = stage.run(cfg, tiny_corpus.manifests_dir, tiny_corpus.roots, progress=lambda d, t: calls.append((d, t)))
    return cfg, report, calls


def test_store_holds_every_corpus_split_in_manifest_order(tiny_corpus, built):
    cfg, _, _ = built
    for corpus, splits in stage.SPLITS.items():
        m = manifest.read(tiny_corpus.manifests_dir / f"{corpus}.parquet")
        for split in splits:
            data = store.read(cfg.out_dir, corpus, split)
            want = m[m["split"] == split]
            assert len(data) == len(want) > 0
            assert data.index["clip_id"].tolist() == want["clip_id"].tolist()
            pd.testing.assert_frame_equal(data.index[list(manifest.COLUMNS)], want.reset_index(drop=True),
                                          check_dtype=False)
            extra = ["landmarks"] if corpus == "facesynthetics" else []  # FaceSynthetics' 70 points per image
            assert sorted(s for s in data.tensors if not s.endswith("_offsets")) == sorted([*stage.STREAMS[corpus], *extra])
            if extra:
                assert data.tensors["landmarks"].shape == (len(data), 70, 2)
            for stream in stage.STREAMS[corpus]:
                off = data.tensors[f"{stream}_offsets"]
                assert off[0] == 0 and int(off[-1]) == len(data.tensors[stream]) and (torch.diff(off) > 0).all()


def test_stream_shapes_dtypes_and_lengths(built, tiny_corpus):
    cfg, _, _ = built
    iemo = store.read(cfg.out_dir, "iemocap", "train")
    assert iemo.tensors["audio"].dtype == torch.float16 and iemo.tensors["audio"].shape[1] == cfg.audio.n_mels
    assert iemo.tensors["video"].dtype == torch.uint8
    assert iemo.tensors["video"].shape[1:] == (cfg.video.crop_px, cfg.video.crop_px)
    dur = iemo.index["duration_s"].to_numpy()
    assert np.abs(iemo.lengths("audio").numpy() - dur * 100).max() <= 2  # 10 ms hop
    assert np.abs(iemo.lengths("video").numpy() - dur * 10).max() <= 1  # 10 fps
    assert iemo.index["face_rate"].between(0, 1).all()
    ted = store.read(cfg.out_dir, "tedlium", "unlabelled")
    seg = ted.index.iloc[0]
    x = media.load_audio(f"{tiny_corpus.roots['tedlium']}/{seg.audio_path}", seg.start_s, seg.end_s)
    assert torch.allclose(ted.get("audio", 0).float(), audio.log_mel(x), atol=0.02)
    faces = store.read(cfg.out_dir, "facesynthetics", "unlabelled")
    assert (faces.lengths("video") == 1).all()


def test_stats_come_from_iemocap_train_only(built):
    cfg, _, _ = built
    mean, std = store.read_stats(cfg.out_dir)
    train = store.read(cfg.out_dir, "iemocap", "train").tensors["audio"].double()
    assert torch.allclose(mean, train.mean(0).float(), atol=1e-4)
    assert torch.allclose(std, train.std(0).float(), atol=1e-4)
    everything = torch.cat([store.read(cfg.out_dir, "iemocap", s).tensors["audio"].double()
                            for s in ("train", "val", "test")])
    assert not torch.allclose(mean, everything.mean(0).float(), atol=1e-4)


def test_report(built, tiny_corpus, tmp_path):
    cfg, report, calls = built
    assert set(report) == REPORT_KEYS
    assert report["counts"]["iemocap"]["train"]["clips"] == len(store.read(cfg.out_dir, "iemocap", "train"))
    assert set(report["detection_rate"]) == {"iemocap", "facesynthetics"}
    assert report["detection_rate"]["iemocap"] > 0.8
    assert report["audio_rtf"] > 100 and report["audio_seconds"] > 0 and report["extract_s"] > 0
    assert calls[-1][0] == calls[-1][1] == sum(v["clips"] for c in report["counts"].values() for v in c.values())
    path = tmp_path / "reports/features.json"
    stage.write_report(report, path)
    assert json.loads(path.read_text()) == report


def test_in_process_run_gives_the_same_store(built, tiny_corpus, tmp_path):
    cfg, _, _ = built
    one = cfg.model_copy(update={"workers": 1, "out_dir": str(tmp_path / "one")})
    stage.run(one, tiny_corpus.manifests_dir, tiny_corpus.roots)
    for corpus, splits in stage.SPLITS.items():
        for split in splits:
            a, b = store.read(cfg.out_dir, corpus, split), store.read(one.out_dir, corpus, split)
            assert a.tensors.keys() == b.tensors.keys()
            assert all(torch.equal(a.tensors[k], b.tensors[k]) for k in a.tensors)


def test_missing_manifest_names_the_file_and_validate(tiny_corpus, tmp_path):
    for c in ("iemocap", "tedlium"):
        shutil.copy(tiny_corpus.manifests_dir / f"{c}.parquet", tmp_path / f"{c}.parquet")
    cfg = tiny_corpus.params.features.model_copy(update={"out_dir": str(tmp_path / "feat")})
    with pytest.raises(stage.FeaturesError, match=r"facesynthetics\.parquet.*avemo validate"):
        stage.run(cfg, tmp_path, tiny_corpus.roots)
    assert not (tmp_path / "feat").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failed_run_leaves_the_previous_store_whole(built, tiny_corpus, tmp_path, workers):
    cfg, _, _ = built
    out = tmp_path / "feat"
    shutil.copytree(cfg.out_dir, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    m = manifest.read(tiny_corpus.manifests_dir / "tedlium.parquet")
    m.loc[2, "audio_path"] = "data/sph/missing.sph"
    mdir = tmp_path / "manifests"
    mdir.mkdir()
    manifest.write(m, mdir / "tedlium.parquet")
    for c in ("iemocap", "facesynthetics"):
        shutil.copy(tiny_corpus.manifests_dir / f"{c}.parquet", mdir / f"{c}.parquet")
    bad = cfg.model_copy(update={"out_dir": str(out), "workers": workers})
    with pytest.raises(stage.FeaturesError, match="missing.sph"):
        stage.run(bad, mdir, tiny_corpus.roots)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert not list(tmp_path.glob(".feat*"))  # no temporary folder left behind
