"""The promotion gate: ``champion`` moves to a fused model only when it beats the current
champion's validation mean CCC by more than ``registry.margin`` and its data validation
passed. The registered model keeps the champions' history (tag ``champion_history``), so
``rollback`` can restore the previous one. Each decision says why."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from avemo import tracking
from avemo.config import Params

CHAMPION, PREVIOUS, HISTORY = "champion", "previous", "champion_history"


@dataclass
class Decision:
    moved: bool
    champion: str | None  # version holding the alias afterwards
    candidate: str | None
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def _history(client, name: str) -> list[str]:
    return json.loads(client.get_registered_model(name).tags.get(HISTORY, "[]"))


def _set_champion(client, name: str, history: list[str]) -> None:
    client.set_registered_model_alias(name, CHAMPION, history[-1])
    if len(history) > 1:
        client.set_registered_model_alias(name, PREVIOUS, history[-2])
    elif PREVIOUS in client.get_registered_model(name).aliases:
        client.delete_registered_model_alias(name, PREVIOUS)
    client.set_registered_model_tag(name, HISTORY, json.dumps(history))


def champion(client, name: str):
    """The champion's model version, or None (also when nothing is registered under ``name``)."""
    from mlflow.exceptions import MlflowException

    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException:
        return None
    return client.get_model_version(name, aliases[CHAMPION]) if CHAMPION in aliases else None


def _candidate(client, name: str, version: str | None):
    if version is not None:
        return client.get_model_version(name, str(version))
    versions = client.search_model_versions(f"name='{name}'")
    if not versions:
        return None
    latest = max(v.tags.get("register_batch", "") for v in versions)
    batch = [v for v in versions if v.tags.get("register_batch", "") == latest]
    return max(batch, key=lambda v: float(v.tags["val_ccc_mean"]))  # the best of the newest registration


def promote(p: Params, version: str | None = None) -> Decision:
    """Move ``champion`` to ``version`` (default: the best fused model of the last ``register``)
    if it passes the gate."""
    from mlflow.exceptions import MlflowException

    client, name = tracking.mlflow_client(p.tracking), p.registry.fused_name
    try:
        cand = _candidate(client, name, version)
    except MlflowException as err:
        raise ValueError(f"{name}: no version {version} in the registry ({err.message})") from None
    if cand is None:
        raise ValueError(f"{name}: nothing registered yet; run `avemo register` (or `dvc repro`) first")
    score = float(cand.tags["val_ccc_mean"])
    what = f"version {cand.version} ({cand.tags.get('avemo.model')}, val CCC mean {score:.4f})"
    current = champion(client, name)
    if cand.tags.get("validation_success") != "true":
        return Decision(False, current and current.version, cand.version,
                        f"{what} not promoted: its data validation did not pass "
                        f"(validation_success={cand.tags.get('validation_success')})")
    if current is not None and current.version == cand.version:
        return Decision(False, current.version, cand.version, f"{what} is already the champion")
    if current is not None:
        best = float(current.tags["val_ccc_mean"])
        if score <= best + p.registry.margin:
            return Decision(False, current.version, cand.version,
                            f"{what} not promoted: it does not beat champion version {current.version} "
                            f"(val CCC mean {best:.4f}) by more than the margin {p.registry.margin}")
    history = [*_history(client, name), cand.version]
    _set_champion(client, name, history)
    why = "no champion yet" if current is None else (
        f"beats champion version {current.version} (val CCC mean {float(current.tags['val_ccc_mean']):.4f})")
    return Decision(True, cand.version, cand.version, f"{what} promoted to champion: {why}")


def rollback(p: Params) -> Decision:
    """Restore the champion before the current one."""
    client, name = tracking.mlflow_client(p.tracking), p.registry.fused_name
    from mlflow.exceptions import MlflowException

    try:
        history = _history(client, name)
    except MlflowException:
        history = []
    if len(history) < 2:
        raise ValueError(f"{name}: no previous champion to roll back to (history: {history or 'empty'})")
    dropped = history.pop()
    _set_champion(client, name, history)
    return Decision(True, history[-1], dropped, f"champion rolled back from version {dropped} to version {history[-1]}")
