"""The BentoML service: the packaged champion behind HTTP, through the same inference
pipeline as ``avemo predict``.

    BENTOML_HOME=.bentoml bentoml serve avemo.serve.service:Avemo --host 127.0.0.1 --port 3000

APIs (POST, multipart): ``/predict`` with ``media`` (one audio or video file), or
``/predict_av`` with ``audio`` and ``video`` (separate files of the same scene) -> clip-level
valence/arousal, the time series, notes; ``/health``; ``/metadata`` (model version, metrics). Bad uploads get a 4xx with
a message: empty or undecodable (400), wrong extension (415), over ``max_upload_mb`` (413,
refused from the Content-Length header before the body is read; 411 without one), longer than
``max_duration_s`` or with more than ``max_video_frames`` frames (413, from the container's
headers before decoding), a text
value where a file belongs (400: BentoML would fetch it as a URL), an unknown, missing or
repeated form field (400, one ``{"error": message}`` body shape), audio too short or nothing
usable such as a video without a face and without audio (422). The limits and window
settings come from the model's metadata, written by ``avemo package`` from params.yaml.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import bentoml
from bentoml.exceptions import BentoMLException, InvalidArgument, UnprocessableEntity

MODEL_TAG = os.environ.get("AVEMO_BENTO_MODEL", "avemo-fusion:latest")
logger = logging.getLogger("bentoml.avemo")  # under BentoML's logger: its handlers and level
SUFFIXES = (".wav", ".flac", ".mp4", ".avi", ".mkv")


class PayloadTooLarge(BentoMLException):
    error_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedMedia(BentoMLException):
    error_code = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class ServiceUnavailable(BentoMLException):
    """A request over its time budget: 503, answered by the service (never a 504 later)."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE


FILE_FIELDS = ("media", "audio", "video")
API_FIELDS = {"/predict": ("media",), "/predict_av": ("audio", "video")}  # each exactly once


class UploadLimit:
    """ASGI middleware in front of the APIs:

    - a POST over the size limit gets 413 from its Content-Length header, before the body is
      read; a POST without that header gets 411;
    - a form POST (multipart or urlencoded) whose file field (``media``, ``audio``, ``video``) holds text instead of
      a file gets 400: BentoML would otherwise take the text as a URL and download it on the
      server (the service never fetches anything)."""

    def __init__(self, app: Any, limit_mb: Any):
        self.app, self.limit_mb, self.max_bytes = app, limit_mb, None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        if self.max_bytes is None:
            self.max_bytes = int(self.limit_mb() * 2**20)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is None or not length.isdigit():
            return await _error(send, 411, "send the upload with a Content-Length header")
        if int(length) > self.max_bytes:
            return await _error(send, 413, f"upload larger than the limit of {self.max_bytes / 2**20:.0f} MB "
                                           "(serve.max_upload_mb)")
        if not headers.get(b"content-type", b"").startswith((b"multipart/", b"application/x-www-form-urlencoded")):
            return await self.app(scope, receive, send)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        problem = await _form_problem(scope, bytes(body))
        if problem:
            return await _error(send, 400, problem)
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        return await self.app(scope, replay, send)


async def _form_problem(scope, body: bytes) -> str | None:
    """What is wrong with a form's fields, or None: a text value where a file belongs, and on
    the predict APIs an unknown field (``file``, ``Media``), a missing one or one sent twice."""
    from starlette.datastructures import UploadFile
    from starlette.requests import Request

    async def once():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, once).form()
    except Exception:  # malformed multipart: let the service's own parser answer it (4xx)
        return None
    items = form.multi_items()
    await form.close()
    text = [k for k, v in items if k in FILE_FIELDS and not isinstance(v, UploadFile)]
    if text:
        return f"{text[0]}: send a file (multipart upload), not a text value"
    wanted = API_FIELDS.get(scope.get("path", "").rstrip("/"))
    if wanted is None:
        return None
    names = [k for k, _ in items]
    expect = f"send {' and '.join(repr(w) for w in wanted)}, each once, as multipart file field(s)"
    unknown = sorted(set(names) - set(wanted))
    if unknown:
        return f"unknown field(s) {', '.join(repr(u) for u in unknown)}: {expect}"
    twice = [w for w in wanted if names.count(w) > 1]
    if twice:
        return f"field {twice[0]!r} sent {names.count(twice[0])} times: {expect}"
    missing = [w for w in wanted if w not in names]
    if missing:
        return f"missing field {missing[0]!r}: {expect}"
    return None


def _answered(call):
    """``call()``, or for a client error (a 4xx BentoML exception) the one error body shape,
    ``{"error": message}``, logged at INFO without a traceback: a bad upload is expected, not a
    server fault (BentoML itself would log it at ERROR and wrap the body in a list)."""
    from starlette.responses import JSONResponse

    try:
        return call()
    except BentoMLException as err:
        status = err.error_code.value
        if status >= 500 and status != HTTPStatus.SERVICE_UNAVAILABLE:
            raise
        logger.info("refused with %d: %s", status, err)
        return JSONResponse({"error": str(err)}, status_code=status)


async def _error(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _limit_mb() -> float:
    try:
        return float(bentoml.models.get(MODEL_TAG).info.metadata["limits"]["max_upload_mb"])
    except Exception:  # no model in the store yet (e.g. `bentoml build` before `avemo package`)
        return 50.0


@bentoml.service(name="avemo", traffic={"timeout": 120})
class Avemo:
    model = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        from avemo import device
        from avemo.config import PredictConfig, ServeConfig
        from avemo.serve.pipeline import Pipeline

        stored = bentoml.models.get(MODEL_TAG)
        meta = stored.info.metadata
        self.meta = {"tag": str(stored.tag), **meta}
        self.limits = {**ServeConfig().model_dump(), **meta["limits"]}  # models packaged before a limit existed
        dev = device.serving(meta.get("device", "auto"))  # serve.device; the CPU when it is absent
        self.pipeline = Pipeline.from_dir(stored.path, PredictConfig(**meta["predict"]), dev)

    def _checked(self, upload: Path, kind: str) -> Path:
        if not Path(upload).is_file():  # a text field instead of a file part
            raise InvalidArgument(f"{kind}: send a file (multipart upload), not a text value")
        name = _client_name(upload)
        if Path(name).suffix.lower() not in SUFFIXES:
            raise UnsupportedMedia(f"{kind}: '{name}' has an unsupported extension; send one of {', '.join(SUFFIXES)}")
        if Path(upload).stat().st_size > self.limits["max_upload_mb"] * 2**20:
            raise PayloadTooLarge(f"{kind}: larger than {self.limits['max_upload_mb']} MB (serve.max_upload_mb)")
        return Path(upload)

    @bentoml.api
    def predict(self, media: Path) -> dict:
        """Valence and arousal of one audio or video file (a video's own audio is used)."""
        return _answered(lambda: self._predict(self._checked(media, "media")))

    @bentoml.api
    def predict_av(self, audio: Path, video: Path) -> dict:
        """Valence and arousal of a scene recorded as separate audio and video files."""
        return _answered(lambda: self._predict(self._checked(video, "video"), self._checked(audio, "audio")))

    def _predict(self, main: Path, audio: Path | None = None) -> dict:
        from avemo import media as media_io
        from avemo.serve.pipeline import NothingToPredict, OverBudget

        try:
            info = media_io.probe(main)
            self._within_limits(info, "media" if audio is None else "video")
            if audio is not None:
                self._within_limits(media_io.probe(audio), "audio")
            if not info.has_video and info.duration_s < self.limits["min_audio_s"]:
                raise UnprocessableEntity(f"audio of {info.duration_s:.2f} s is too short; send at least "
                                          f"{self.limits['min_audio_s']} s (serve.min_audio_s)")
            result = self.pipeline.predict_file(main, audio_path=audio,
                                                deadline=time.monotonic() + self.limits["max_request_s"])
        except media_io.MediaError as err:
            raise InvalidArgument(_public(str(err), main, audio)) from None
        except NothingToPredict as err:
            raise UnprocessableEntity(_public(str(err), main, audio)) from None
        except OverBudget as err:
            raise ServiceUnavailable(f"{_public(str(err), main, audio)} (serve.max_request_s "
                                     f"{self.limits['max_request_s']:.0f} s); send a shorter clip, or run "
                                     f"`avemo predict` on it") from None
        used = sorted(set(result.series["streams"]) - {"none"})
        if not used:
            raise UnprocessableEntity("nothing to predict from: no audio and no detectable face in the upload")
        series = json.loads(result.series.to_json(orient="records", double_precision=4))
        summary = {k: v for k, v in result.summary.items() if k != "file"}
        return {"clip": {d: summary[d] for d in self.pipeline.targets}, "streams": used, "notes": result.notes,
                "summary": summary, "series": series, "model": self.meta["tag"]}

    def _within_limits(self, info, kind: str) -> None:
        """413 for media whose container promises more than the service decodes: checked from
        the headers, before a frame is decoded (a few frames with timestamps stretched over hours
        would otherwise hold a worker for that long)."""
        lim = self.limits
        if info.duration_s > lim["max_duration_s"]:
            raise PayloadTooLarge(f"{kind}: lasts {info.duration_s:.0f} s, longer than {lim['max_duration_s']:.0f} s "
                                  f"(serve.max_duration_s); send a shorter clip or run `avemo predict` on it")
        frames = info.duration_s * (info.fps or 0.0) if info.has_video else 0.0
        if frames > lim["max_video_frames"]:
            raise PayloadTooLarge(f"{kind}: holds about {frames:.0f} video frames, more than {lim['max_video_frames']} "
                                  f"(serve.max_video_frames); lower its frame rate or send a shorter clip")

    @bentoml.api
    def health(self) -> dict:
        return {"status": "ok", "model": self.meta["tag"]}

    @bentoml.api
    def metadata(self) -> dict:
        return self.meta


def _client_name(path: Path) -> str:
    """The client's file name: BentoML saves an upload as ``tmp<8 random chars><client name>``."""
    return re.sub(r"^tmp[A-Za-z0-9_]{8}", "", Path(path).name)[-60:]


def _public(message: str, *paths: Path | None) -> str:
    """An error message naming the client's file, not the server's temp path."""
    for path in filter(None, paths):
        message = message.replace(str(path), _client_name(path)).replace(Path(path).name, _client_name(path))
    return message


Avemo.add_asgi_middleware(UploadLimit, limit_mb=_limit_mb)  # read from the model store on the first request
