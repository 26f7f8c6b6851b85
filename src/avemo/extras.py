"""Install profiles: the core install runs ``avemo predict``, ``avemo pull`` and the inference
pipeline; the optional extras declared in ``pyproject.toml`` add the rest (``pipeline``,
``track``, ``serve``, ``orchestrate``, ``bench``; ``all`` is every one of them). This module
names the extra a missing module comes from, read from the installed package's metadata."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution, requires

# import names that differ from their distribution's name (after normalising - . _)
DISTRIBUTION_OF = {"sklearn": "scikit-learn", "lightning_utilities": "pytorch-lightning",
                   "lightning": "pytorch-lightning", "lightning_fabric": "pytorch-lightning"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extras() -> dict[str, list[str]]:
    """Extra -> the distributions it adds (``all`` left out), from avemo's ``Requires-Dist``."""
    try:
        reqs = requires("avemo") or []
    except PackageNotFoundError:
        return {}
    out: dict[str, list[str]] = {}
    for req in reqs:
        spec, _, marker = req.partition(";")
        found = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        dist = re.match(r"[A-Za-z0-9._-]+", spec.strip())
        if found and dist and found.group(1) != "all" and not spec.strip().startswith("avemo"):
            out.setdefault(found.group(1), []).append(_normal(dist.group(0)))
    return out


def providing(module: str) -> str | None:
    """The extra that installs top-level module ``module`` (``mlflow.client`` -> ``track``), or
    None when no extra does."""
    top = module.split(".")[0]
    dist = _normal(DISTRIBUTION_OF.get(top, top))
    return next((extra for extra, dists in extras().items() if dist in dists), None)


class MissingExtra(RuntimeError):
    """A command needs an extra the install lacks; the message says what to install."""


def missing(*names: str) -> list[str]:
    """The extras among ``names`` with a distribution that is not installed."""
    out = []
    for name in names:
        for dist in extras().get(name, []):
            try:
                distribution(dist)
            except PackageNotFoundError:
                out.append(name)
                break
    return out


def install_hint(names: list[str]) -> str:
    return (f"pip install 'avemo[{','.join(names)}]' (in a clone: `uv sync --extra all`)")


def require(*names: str) -> None:
    """Raise :class:`MissingExtra` unless every extra in ``names`` is installed."""
    lacking = missing(*names)
    if lacking:
        raise MissingExtra(f"the core install leaves out what this command needs; install the "
                           f"{' and '.join(map(repr, lacking))} extra: {install_hint(lacking)}")
