"""A fused model as a Hugging Face Hub release, and back.

``write_folder`` turns a fused-model folder (``model.safetensors`` + ``config.json``) into a
Hub-ready folder with a model card; ``push`` uploads it (``HF_TOKEN``); ``pull`` loads a
release - a local folder or ``ORG/NAME`` at a pinned revision - into the inference pipeline
through :class:`AvemoModel` ``.from_pretrained``. Weights are read from safetensors only:
a pickle (``pytorch_model.bin``) is refused, never loaded.

Offline (``HF_HUB_OFFLINE=1``, or the Hub unreachable) ``pull`` reads the local Hugging Face
cache only and ``push`` stops at once, each with a message saying what to do.
``HF_HUB_OFFLINE`` and ``HF_HUB_CACHE``/``HF_HOME`` are read when called, not only when
``huggingface_hub`` was imported; ``HF_ENDPOINT`` is the library's (read at its import).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from huggingface_hub import PyTorchModelHubMixin

from avemo.hub import card
from avemo.io import atomic_dir
from avemo.models import fused

if TYPE_CHECKING:
    from avemo.config import PredictConfig
    from avemo.serve.pipeline import Pipeline

README = "README.md"
FILES = (fused.WEIGHTS, fused.CONFIG, README)
PICKLE = "pytorch_model.bin"
REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
PROBE_TIMEOUT_S = 2.0


class ReleaseError(RuntimeError):
    """A release cannot be written, pushed or pulled; the message says what to do."""


class RepoIdError(ReleaseError, ValueError):
    """A repo id that is not ``ORG/NAME``."""


class AvemoModel(fused.FusedModel, PyTorchModelHubMixin, library_name="avemo", license="apache-2.0",
                 tags=list(card.TAGS)):
    """A :class:`~avemo.models.fused.FusedModel` the Hub can load: ``config`` is the fused
    model's ``config.json``; the state dict has the same keys, so the ``fuse`` stage's
    ``model.safetensors`` is the release's weights file as it is."""

    def __init__(self, config: dict):
        built = fused.build(config)
        super().__init__(dict(built.streams.items()), built.fusion)
        self.config = config

    @property
    def fused_model(self) -> fused.FusedModel:
        return self

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision: str | None, cache_dir: str | Path | None,
                         force_download: bool, local_files_only: bool, token: str | bool | None,
                         config: dict | None = None, **_: object) -> AvemoModel:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import RemoteEntryNotFoundError
        from safetensors.torch import load_model

        if config is None:
            raise ReleaseError(f"{model_id}: no {fused.CONFIG}; not an avemo model release")
        if os.path.isdir(model_id):
            weights = os.path.join(model_id, fused.WEIGHTS)
            if not os.path.isfile(weights):
                raise ReleaseError(_no_safetensors(model_id))
        else:
            try:
                weights = hf_hub_download(model_id, fused.WEIGHTS, revision=revision, cache_dir=cache_dir,
                                          force_download=force_download, local_files_only=local_files_only,
                                          token=token)
            except RemoteEntryNotFoundError:
                raise ReleaseError(_no_safetensors(f"{model_id}@{revision}")) from None
        try:
            model = cls(config)
            load_model(model, weights, strict=True)  # every tensor must match the config's model
        except (KeyError, TypeError, RuntimeError) as err:
            raise ReleaseError(f"{model_id}: {fused.WEIGHTS} does not match {fused.CONFIG} ({err})") from err
        return model.eval()

    @classmethod
    def _load_as_pickle(cls, *_: object, **__: object) -> AvemoModel:
        raise ReleaseError(_no_safetensors("this release"))


def _no_safetensors(where: str) -> str:
    return (f"{where}: no {fused.WEIGHTS}. avemo loads safetensors weights only and never unpickles "
            f"{PICKLE} (arbitrary code); publish the model with `avemo release`")


# ---------------------------------------------------------------------- environment


def _true(value: str | None) -> bool:
    return (value or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) as set now or at import."""
    from huggingface_hub import constants

    return _true(os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")) or constants.HF_HUB_OFFLINE


def cache_dir() -> str | None:
    """The Hub cache the environment names now (``HF_HUB_CACHE``, else ``HF_HOME``/hub);
    None: huggingface_hub's default."""
    hub = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if hub:
        return os.path.expanduser(hub)
    home = os.environ.get("HF_HOME")
    return os.path.join(os.path.expanduser(home), "hub") if home else None


def endpoint() -> str:
    """The Hub URL huggingface_hub downloads from (``HF_ENDPOINT`` when it was imported)."""
    from huggingface_hub import constants

    return constants.ENDPOINT.rstrip("/")


def reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether ``url`` answers an HTTP HEAD within ``timeout`` seconds (any status counts);
    run in a thread so that a hanging DNS lookup cannot stall the caller either."""
    from huggingface_hub.utils import get_session

    answered: list[bool] = []

    def probe() -> None:
        try:
            get_session().head(url, timeout=timeout)
            answered.append(True)
        except Exception:  # any failure means "not reachable"
            answered.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(answered and answered[0])


def _network_errors() -> tuple[type[BaseException], ...]:
    """What a Hub call raises when the network or the Hub fails: OSError (huggingface_hub's
    HTTP errors included) and the HTTP client's own errors, which are not OSErrors."""
    errors: list[type[BaseException]] = [OSError]
    for module in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError):
            errors.append(importlib.import_module(module).HTTPError)
    return tuple(errors)


def check_repo_id(repo_id: str) -> str:
    if not REPO_ID.fullmatch(repo_id) or "--" in repo_id or ".." in repo_id:
        raise RepoIdError(f"{repo_id!r} is not a Hub repo id: use ORG/NAME (letters, digits, '-', '_', '.')")
    return repo_id


# ---------------------------------------------------------------------- folder


def write_folder(model_dir: str | Path, out_dir: str | Path, repo_id: str, license: str = "apache-2.0") -> list[Path]:
    """A Hub-ready folder from a fused-model folder: ``model.safetensors`` and ``config.json``
    as they are, and a ``README.md`` model card. Checked to load before it replaces
    ``out_dir`` (atomically); ``out_dir`` holding anything else is refused."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    check_repo_id(repo_id)
    for name in (fused.WEIGHTS, fused.CONFIG):
        if not (model_dir / name).is_file():
            raise ReleaseError(f"{model_dir / name}: not a fused avemo model folder (run `avemo fuse`)")
    if out_dir.exists():
        other = sorted(set(os.listdir(out_dir)) - set(FILES)) if out_dir.is_dir() else [out_dir.name]
        if other:
            raise ReleaseError(f"{out_dir} exists and holds {other[:3]}: choose a new or empty --out folder")
    cfg = json.loads((model_dir / fused.CONFIG).read_text())
    with atomic_dir(out_dir) as tmp:
        for name in (fused.WEIGHTS, fused.CONFIG):
            shutil.copyfile(model_dir / name, tmp / name)
        (tmp / README).write_text(card.render(cfg, repo_id, license))
        AvemoModel.from_pretrained(tmp)  # the release loads, every tensor matching its config
    return [out_dir / name for name in FILES]


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest(folder: str | Path) -> list[dict]:
    """Every file under ``folder``: ``{"path" (relative, /-separated), "bytes", "sha256"}``."""
    folder = Path(folder)
    return [{"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size, "sha256": sha256(p)}
            for p in sorted(folder.rglob("*")) if p.is_file()]


# ---------------------------------------------------------------------- hub


def push(folder: str | Path, repo_id: str, revision: str | None = None, token: str | None = None,
         private: bool = True) -> str:
    """Upload ``folder`` to ``repo_id`` (created if missing, ``private`` when new) on branch
    ``revision`` (created from main if missing; default main); return the commit URL.
    ``token``: else ``HF_TOKEN``; never a stored login, never printed."""
    from huggingface_hub import HfApi

    check_repo_id(repo_id)
    token = token or os.environ.get("HF_TOKEN")
    url = endpoint()
    if not token:
        raise ReleaseError("no Hugging Face token: export HF_TOKEN=<a write token from "
                           "https://huggingface.co/settings/tokens> and rerun (or --dry-run to only write the folder)")
    if offline():
        raise ReleaseError(f"HF_HUB_OFFLINE is set: unset it to push to {repo_id}; {folder} is written "
                           "and can be pushed later (or use --dry-run)")
    if not reachable(url):
        raise ReleaseError(f"cannot reach the Hub at {url}: check the network, proxy or HF_ENDPOINT and rerun; "
                           f"{folder} is written and can be pushed later")
    api = HfApi(endpoint=url, token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), revision=revision,
                                 commit_message="avemo release")
    except _network_errors() as err:
        raise ReleaseError(f"push to {repo_id} failed ({type(err).__name__}): {err}") from err
    return info.commit_url


def load(source: str | Path, revision: str | None = None) -> AvemoModel:
    """The released model in ``source``: a local folder, or ``ORG/NAME`` at ``revision``
    (required: a branch, tag or commit), from the Hub or, offline, the local cache only."""
    from huggingface_hub import constants
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    if Path(source).is_dir():
        if revision:
            raise ReleaseError(f"--revision pins a Hub repo; {source} is a local folder")
        return AvemoModel.from_pretrained(str(source))
    repo_id = str(source)
    try:
        check_repo_id(repo_id)
    except RepoIdError:
        raise RepoIdError(f"{source!r} is neither a folder nor a Hub repo id ORG/NAME") from None
    if not revision:
        raise ReleaseError(f"{repo_id}: pass --revision (a branch, tag or commit) to pin what you load")
    why = "HF_HUB_OFFLINE is set" if offline() else None
    if why is None and not reachable(endpoint()):
        why = f"the Hub ({endpoint()}) is unreachable"
    try:
        return AvemoModel.from_pretrained(repo_id, revision=revision, cache_dir=cache_dir(),
                                          local_files_only=why is not None)
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        cache = cache_dir() or constants.HF_HUB_CACHE
        raise ReleaseError(f"{repo_id}@{revision} is not in the local Hub cache ({cache}) and {why or 'it is offline'}: "
                           "pull it once with network access, or point HF_HUB_CACHE at a cache that has it") from None
    except _network_errors() as err:
        raise ReleaseError(f"cannot load {repo_id}@{revision} ({type(err).__name__}): {err}") from err


def pull(source: str | Path, revision: str | None = None, settings: PredictConfig | None = None) -> Pipeline:
    """A release (see :func:`load`) as the inference pipeline."""
    model = load(source, revision)  # first: a failure comes before the pipeline's heavy imports
    from avemo.serve.pipeline import Pipeline

    return Pipeline(model.fused_model, model.config, settings)
