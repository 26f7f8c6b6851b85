import pandas as pd
import pytest
import torch

from avemo.train.data import label_subset


def _index(n_per_speaker: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"speaker": [s for s, n in n_per_speaker.items() for _ in range(n)]})


def test_label_subset_keeps_a_fraction_of_every_speaker():
    idx = _index({"a": 40, "b": 20, "c": 3})
    rows = label_subset(idx, 0.1, seed=1)
    per = idx.iloc[rows]["speaker"].value_counts().to_dict()
    assert per == {"a": 4, "b": 2, "c": 1}  # at least one clip per speaker
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    assert label_subset(idx, 0.1, seed=1) == rows  # seeded
    assert label_subset(idx, 0.1, seed=2) != rows
    assert label_subset(idx, 1.0, seed=1) == list(range(len(idx)))


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_label_subset_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="fraction"):
        label_subset(_index({"a": 3}), fraction, seed=0)


def test_pseudo_labels_join_the_training_set_with_per_target_weights(train_params):
    import numpy as np

    from avemo.features import store
    from avemo.train.data import EmotionDataModule

    unl = store.read(train_params.features.out_dir, "tedlium", "unlabelled").index
    n = len(unl)
    pseudo = pd.DataFrame({"clip_id": unl["clip_id"], "corpus": "tedlium", "split": "unlabelled", "row": range(n),
                           "valence": np.linspace(-0.5, 0.5, n),
                           "arousal": 0.3, "confidence": 0.8, "confidence_valence": 0.8, "confidence_arousal": 0.0,
                           "selected": np.arange(n) % 2 == 0, "teacher_version": "abc"})
    dm = EmotionDataModule(train_params.features.out_dir, "audio", ["valence", "arousal"], train_params.train,
                           train_params.augment, pseudo=pseudo, pseudo_weight=0.5)
    dm.setup()
    train = dm.sets["train"]
    assert dm.n_gold == 64 and len(train) == 64 + n // 2
    _x, y, w, i = train[64 + 1]  # the second selected pseudo-labelled segment: store row 2
    assert i == 2 and y.tolist() == pytest.approx([pseudo["valence"][2], 0.3])
    assert w.tolist() == pytest.approx([0.4, 0.0])  # 0.5 x confidence; arousal not labelled
    assert train[0][2].tolist() == [1.0, 1.0]  # gold
    train.epoch = 3
    assert all(d.epoch == 3 for d in train.datasets)


def test_withheld_gold_clips_train_on_their_pseudo_labels_only(train_params):
    import numpy as np

    from avemo.features import store
    from avemo.train.data import EmotionDataModule

    gold = store.read(train_params.features.out_dir, "iemocap", "train").index
    rows = [1, 5, 9]
    pseudo = pd.DataFrame({"clip_id": gold["clip_id"].iloc[rows].to_numpy(), "corpus": "iemocap", "split": "train",
                           "row": rows, "valence": 0.11, "arousal": -0.22, "confidence": 1.0,
                           "confidence_valence": 1.0, "confidence_arousal": 1.0, "selected": True})
    dm = EmotionDataModule(train_params.features.out_dir, "audio", ["valence", "arousal"], train_params.train,
                           train_params.augment, train_fraction=0.25, pseudo=pseudo, pseudo_weight=0.5)
    dm.setup()
    extra = dm.sets["train"].datasets[1]
    assert len(extra) == 3
    for k, r in enumerate(rows):
        _, y, w, i = extra[k]
        assert i == r and y.tolist() == pytest.approx([0.11, -0.22])  # never the hidden gold label
        assert not np.allclose(y.numpy(), gold.loc[r, ["valence", "arousal"]].to_numpy(float))
        assert w.tolist() == [0.5, 0.5]



def test_pseudo_labels_of_another_store_are_refused(train_params):
    from avemo.train.data import EmotionDataModule

    pseudo = pd.DataFrame({"clip_id": ["x"], "corpus": "tedlium", "split": "unlabelled", "row": 0,
                           "valence": 0.0, "arousal": 0.0,
                           "confidence": 1.0, "confidence_valence": 1.0, "confidence_arousal": 1.0, "selected": True})
    dm = EmotionDataModule(train_params.features.out_dir, "audio", ["valence", "arousal"], train_params.train,
                           train_params.augment, pseudo=pseudo)
    with pytest.raises(ValueError, match="rerun `avemo pseudo-label`"):
        dm.setup()


def test_a_model_reading_the_level_trains_without_gain(train_params):
    """``normalise='none'`` feeds a model with utterance statistics the stored log-mel: a random
    gain would blur the level those statistics read (for a per-utterance-normalised encoder it is
    a no-op); noise (robustness), shift and masks stay."""
    from avemo.train.data import EmotionDataModule

    def augment(normalise):
        return EmotionDataModule(train_params.features.out_dir, "audio", ["valence", "arousal"], train_params.train,
                                 train_params.augment, normalise=normalise)._augment().cfg

    raw, normed = augment("none"), augment("utterance")
    assert raw.gain_db == 0 and normed.gain_db == train_params.augment.audio.gain_db > 0
    assert raw.p_noise == normed.p_noise > 0 and raw.freq_masks == normed.freq_masks


def _with(p, **train):
    return p.model_copy(update={"train": p.train.model_copy(update=train)})


def test_loader_settings_follow_train_params(train_params, monkeypatch):
    from avemo.train.data import loader_settings

    assert loader_settings(train_params.train) == {"num_workers": 0, "pin_memory": False}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    gpu = _with(train_params, accelerator="gpu", num_workers=4, prefetch_factor=3).train
    assert loader_settings(gpu) == {"num_workers": 4, "pin_memory": True, "persistent_workers": True,
                                    "prefetch_factor": 3}
    assert loader_settings(_with(train_params, accelerator="gpu", pin_memory=False).train)["pin_memory"] is False


def test_persistent_workers_draw_each_epochs_own_augmentation(train_params):
    """Workers kept alive across epochs get the epoch with each index: epoch 1's batches differ
    from epoch 0's and equal what a loader without workers gives for each epoch."""
    from avemo.train.data import EmotionDataModule

    def epochs(num_workers: int) -> list[list[torch.Tensor]]:
        p = _with(train_params, num_workers=num_workers, persistent_workers=True)
        dm = EmotionDataModule(p.features.out_dir, "audio", p.model.targets, p.train, p.augment,
                               normalise=p.features.audio.normalise)
        dm.setup()
        loader = dm.train_dataloader()
        out = []
        for epoch in range(2):
            loader.sampler.set_epoch(epoch)
            out.append([b["x"] for b in loader])
        return out

    plain, workers = epochs(0), epochs(2)
    assert not torch.equal(plain[0][0], plain[1][0])  # a new epoch: new order, crops and noise
    for a, b in zip(plain, workers, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("stream", ["audio", "visual"])
def test_augmenting_on_the_device_gives_the_loaders_batches(train_params, stream):
    """``augment.on_device``: the loader only crops; the batch, augmented and normalised after
    the transfer from each clip's generator state, equals what the loader would have made."""
    from avemo.train.data import EmotionDataModule

    def first_batch(on_device: bool) -> dict:
        p = train_params.model_copy(update={"augment": train_params.augment.model_copy(update={"on_device": on_device})})
        dm = EmotionDataModule(p.features.out_dir, stream, p.model.targets, p.train, p.augment,
                               normalise=p.features.audio.normalise)
        dm.setup()
        batch = next(iter(dm.train_dataloader()))
        return dm.on_after_batch_transfer(batch, 0)

    loader, device = first_batch(False), first_batch(True)
    assert "rng" not in device and loader.keys() == device.keys()
    for k in loader:
        assert torch.equal(loader[k], device[k]), k
