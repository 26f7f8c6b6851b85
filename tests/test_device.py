"""One accelerator setting, resolved the same way for every compute path."""

import logging

import numpy as np
import pytest
import torch

from avemo import device


def test_cpu_and_auto_resolve_on_a_machine_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps", lambda: False)
    assert device.resolve("cpu") == torch.device("cpu")
    assert device.resolve("auto") == torch.device("cpu")
    assert device.resolve("AUTO") == torch.device("cpu")


def test_auto_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.resolve("auto") == torch.device("cuda")
    assert device.resolve("gpu") == torch.device("cuda") == device.resolve("cuda")


def test_asking_for_an_absent_gpu_names_the_setting(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(device.DeviceError, match="train.accelerator: cpu"):
        device.resolve("gpu")
    with pytest.raises(ValueError, match="unknown accelerator 'tpu9'"):
        device.resolve("tpu9")


def test_the_service_falls_back_to_the_cpu_with_one_log_line(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="avemo"):
        assert device.serving("cuda") == torch.device("cpu")
    lines = [r.getMessage() for r in caplog.records if r.name == "avemo"]
    assert len(lines) == 1 and "serving on the CPU" in lines[0]
    with caplog.at_level(logging.WARNING, logger="avemo"):
        caplog.clear()
        assert device.serving("cpu") == torch.device("cpu")
    assert not caplog.records


def test_move_reaches_every_tensor_and_keeps_the_structure():
    batch = {"x": torch.ones(2), "pair": (torch.zeros(1), None), "list": [torch.ones(1)], "n": 3}
    moved = device.move(batch, torch.device("cpu"))
    assert moved.keys() == batch.keys() and isinstance(moved["pair"], tuple) and moved["pair"][1] is None
    assert moved["n"] == 3 and moved["x"].device.type == "cpu" and isinstance(moved["list"], list)


@pytest.mark.parametrize(("setting", "cuda", "expected"), [
    (True, False, True), (True, True, "warn"), ("warn", False, "warn"), (False, True, False)])
def test_deterministic_is_warn_only_on_cuda(monkeypatch, setting, cuda, expected):
    """CUDA has no deterministic backward for some kernels (adaptive average pooling): there
    ``train.deterministic: true`` warns instead of failing; on the CPU it stays strict."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert device.deterministic(setting, "gpu" if cuda else "cpu") == expected


@pytest.fixture
def moves(monkeypatch):
    """Every ``device.move`` call's target device, recorded (the move still happens)."""
    seen: list[torch.device] = []
    real, depth = device.move, [0]

    def record(obj, dev):  # the outermost call only (move recurses into containers)
        if not depth[0]:
            seen.append(torch.device(dev))
        depth[0] += 1
        try:
            return real(obj, dev)
        finally:
            depth[0] -= 1

    monkeypatch.setattr(device, "move", record)
    return seen


def _stream(stream: str, n_inputs: int):
    from avemo.models.regressor import Regressor

    torch.manual_seed(0)
    return Regressor("audio_cnn" if stream == "audio" else "visual_cnn", n_inputs, 2, dim=16)


def test_pseudo_label_inference_runs_on_the_device_it_is_given(feature_store, moves):
    from avemo.features import store
    from avemo.pseudo import infer

    data = store.read(feature_store, "iemocap", "val")
    model = _stream("audio", int(data.get("audio", 0).shape[-1]))
    args = (model, data, "audio", feature_store, "global", 1, 3, 0)
    here = infer.mc_dropout(*args, dev="cpu")
    assert set(moves) == {torch.device("cpu")} and len(moves) == 3 * ((len(data) + 63) // 64)
    assert all(torch.equal(torch.tensor(a), torch.tensor(b)) for a, b in zip(here, infer.mc_dropout(*args), strict=True))


def test_probe_embeddings_run_on_the_device_they_are_given(feature_store, moves):
    from avemo.features import store
    from avemo.ssl.probe import embed

    data = store.read(feature_store, "iemocap", "val")
    enc = _stream("visual", 0).encoder
    out = embed(enc, data, "visual", feature_store, frame_step=3, dev=torch.device("cpu"))
    assert out.shape == (len(data), 16) and moves == [torch.device("cpu")]


def test_fusion_caches_and_predictions_run_on_the_device_they_are_given(feature_store, fused_config, moves):
    from avemo.features import store
    from avemo.fuse.data import PairDataset, cache
    from avemo.fuse.stage import predict
    from avemo.models import fused
    from avemo.train.data import transform_for

    data = store.read(feature_store, "iemocap", "val")
    cfg = fused_config()
    cfg["streams"]["audio"]["n_inputs"] = int(data.get("audio", 0).shape[-1])
    model = fused.build(cfg).eval()
    ds = PairDataset(data, ["valence", "arousal"], {s: transform_for(s, feature_store, "global", 3)
                                                     for s in ("audio", "visual")})
    c = cache(model.streams, ds, 16, torch.device("cpu"))
    assert len(c) == len(data) and len(moves) == 2 * 2 * 2  # 2 batches x 2 streams: inputs there, outputs back
    moves.clear()
    pred = predict(model, ds, {"visual"}, 16, torch.device("cpu"))
    assert pred.shape == (len(data), 2) and len(moves) == 2  # the missing stream is never moved


def test_the_predict_pipeline_runs_its_model_on_the_device_it_is_given(save_fused, moves):
    from avemo.serve.pipeline import Pipeline

    pipe = Pipeline.from_dir(save_fused(), dev="cpu")
    assert pipe.device == torch.device("cpu") and next(pipe.model.parameters()).device.type == "cpu"
    out = pipe.predict_clip(wave=np.random.default_rng(0).normal(0, 0.1, 32000).astype("float32"))
    assert set(out["fused"]) == {"valence", "arousal"} and len(moves) == 2  # audio and the absent visual
