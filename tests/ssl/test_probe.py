import numpy as np
import torch

from avemo.features import store
from avemo.models.encoders import build
from avemo.ssl.probe import embed, linear_probe, probe, speaker_standardise


def test_linear_probe_recovers_a_linear_signal():
    rng = np.random.default_rng(0)
    emb = {s: rng.normal(size=(n, 8)) for s, n in (("train", 200), ("val", 50), ("test", 50))}
    labels = {s: np.tanh(e[:, :2] * 0.5) for s, e in emb.items()}
    good = linear_probe(emb, labels, ("valence", "arousal"))
    noise = linear_probe(emb, {s: rng.uniform(-1, 1, (len(e), 2)) for s, e in emb.items()}, ("valence", "arousal"))
    assert good["ccc_mean"] > 0.9 and abs(noise["ccc_mean"]) < 0.3


def test_embed_shapes_and_probe_on_store(feature_store):
    torch.manual_seed(0)
    enc = build("audio_cnn", 16, 8, 0.0)
    split = store.read(feature_store, "iemocap", "val")
    e = embed(enc, split, "audio", feature_store)
    assert e.shape == (len(split), 8) and np.isfinite(e).all()
    both = probe(enc, "audio", feature_store)
    assert set(both) == {"speaker", "plain"}
    for res in both.values():
        assert {"ccc_valence", "ccc_arousal", "ccc_mean", "alpha"} <= set(res)
        # the synthetic store plants arousal in the low mel bands: even a random encoder sees some
        assert res["ccc_arousal"] > 0.2


def test_speaker_standardise_removes_each_speakers_offset():
    rng = np.random.default_rng(0)
    spk = np.repeat(["a", "b", "c"], 20)
    emb = rng.normal(size=(60, 4)) + np.repeat([[0.0], [10.0], [-5.0]], 20, axis=0)
    z = speaker_standardise(emb, spk)
    for s in "abc":
        np.testing.assert_allclose(z[spk == s].mean(0), 0, atol=1e-9)
        np.testing.assert_allclose(z[spk == s].std(0), 1, atol=1e-4)
