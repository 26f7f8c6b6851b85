"""The BentoML service over HTTP: `bentoml serve` on 127.0.0.1 with a packaged fused model,
real multipart requests, good and bad. Bad uploads get a 4xx with a message, never a 5xx."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from avemo import config

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_dir):
    home = tmp_path_factory.mktemp("bentoml")
    p = config.load(ROOT / "params.yaml")
    p = p.model_copy(update={"serve": p.serve.model_copy(update={"bentoml_home": str(home), "max_upload_mb": 1.0}),
                             "predict": p.predict.model_copy(update={"window_s": 2.0})})
    env = {**os.environ, "BENTOML_HOME": str(home)}
    code = ("import sys; from pathlib import Path; from avemo import config; from avemo.serve import package;"
            "p = config.Params.model_validate_json(sys.argv[1]);"
            "package.import_model(p, Path(sys.argv[2]), {'version': '7', 'method': 'late_fusion'})")
    subprocess.run([sys.executable, "-c", code, p.model_dump_json(by_alias=True), str(model_dir)], env=env, check=True)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bentoml", "serve", "avemo.serve.service:Avemo", "--host",
                             "127.0.0.1", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"bentoml serve exited: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _post(url: str, route: str, **files: Path | tuple):
    parts = {k: (v.name, v.read_bytes()) if isinstance(v, Path) else v for k, v in files.items()}
    return httpx.post(f"{url}/{route}", files=parts, timeout=60)


def test_an_audio_visual_upload_gets_both_streams_and_a_series(server, media_files):
    r = _post(server, "predict", media=media_files["av"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["streams"] == ["audio+visual"] and len(body["series"]) == 5
    assert -1 <= body["clip"]["valence"] <= 1 and body["model"].startswith("avemo-fusion:")


def test_audio_only_and_separate_audio_and_video(server, media_files):
    r = _post(server, "predict", media=media_files["wav"])
    assert r.status_code == 200 and r.json()["streams"] == ["audio"] and r.json()["notes"]
    r = _post(server, "predict_av", audio=media_files["wav"], video=media_files["video_only"])
    assert r.status_code == 200, r.text
    assert "audio+visual" in r.json()["streams"]  # the 3 s recording covers the first windows of the 5 s video


def test_health_and_metadata(server):
    assert httpx.post(f"{server}/health", json={}).json()["status"] == "ok"
    meta = httpx.post(f"{server}/metadata", json={}).json()
    assert meta["registry"]["version"] == "7" and meta["limits"]["max_upload_mb"] == 1.0


@pytest.mark.parametrize(("name", "status", "words"), [
    ("empty.mp4", 400, "empty"),
    ("noise.mp4", 400, "not a readable"),
    ("notes.txt", 415, "unsupported extension"),
    ("huge.wav", 413, "larger than the limit"),
    ("blip.wav", 422, "too short"),
    ("wall.mp4", 422, "no detectable face"),
])
def test_bad_uploads_get_a_4xx_naming_the_problem(server, bad_files, name, status, words):
    r = _post(server, "predict", media=bad_files / name)
    assert r.status_code == status, r.text
    assert words in r.text and "/tmp" not in r.text
    assert isinstance(r.json(), dict) and set(r.json()) == {"error"}  # one body shape for every 4xx


def test_requests_without_a_file_are_4xx(server):
    assert httpx.post(f"{server}/predict", files={"other": ("x", b"1")}).status_code == 400
    assert httpx.post(f"{server}/predict", data={"media": "abc"}).status_code in (400, 415)


def test_a_real_photograph_with_real_speech(server, real_clip):
    r = _post(server, "predict", media=real_clip)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["streams"] == ["audio+visual"] and body["summary"]["face_rate"] >= 0.9
    assert all(-1 <= body["clip"][d] <= 1 for d in ("valence", "arousal"))


def test_broken_audio_is_refused_or_flagged(server, tmp_path):
    """Non-finite samples: 422 when nothing usable is left, else the windows dropped with a note."""
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "allnan.wav", np.full(48000, np.nan, np.float32), 16000, subtype="FLOAT")
    r = _post(server, "predict", media=tmp_path / "allnan.wav")
    assert r.status_code == 422 and "non-finite" in r.text and "allnan.wav" in r.text
    x = np.random.default_rng(0).normal(0, 0.1, 6 * 16000).astype(np.float32)
    x[:16000] = np.inf
    sf.write(tmp_path / "someinf.wav", x, 16000, subtype="FLOAT")
    r = _post(server, "predict", media=tmp_path / "someinf.wav")
    assert r.status_code == 200, r.text
    body = r.json()
    assert 0 < body["summary"]["windows_predicted"] < body["summary"]["windows"]
    assert any("non-finite" in n for n in body["notes"])


@pytest.mark.parametrize(("route", "parts", "words"), [
    ("predict", [("file", "talk.avi")], "unknown field(s) 'file'"),
    ("predict", [("Media", "talk.avi")], "unknown field(s) 'Media'"),
    ("predict", [("media", "talk.avi"), ("media", "voice.wav")], "field 'media' sent 2 times"),
    ("predict", [("media", "talk.avi"), ("extra", "voice.wav")], "unknown field(s) 'extra'"),
    ("predict_av", [("audio", "voice.wav")], "missing field 'video'"),
])
def test_wrong_form_fields_get_a_400_with_one_error_shape(server, media_files, route, parts, words):
    files = [(name, (f, (media_files["av"].parent / f).read_bytes())) for name, f in parts]
    r = httpx.post(f"{server}/{route}", files=files, timeout=60)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": r.json()["error"]} and words in r.json()["error"]


def test_a_file_whose_timestamps_claim_hours_is_refused_before_decoding(server, tmp_path):
    """Three frames stretched over an hour (1 KB): 413 from the container's duration, at once,
    not a worker held for minutes."""
    from benchmarks.serve_load import stretched

    path = tmp_path / "stretched.mp4"
    stretched(path)
    r = _post(server, "predict", media=path)
    assert r.status_code == 413, r.text
    assert "serve.max_duration_s" in r.json()["error"] and r.elapsed.total_seconds() < 10
