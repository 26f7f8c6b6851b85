"""The retraining deployment: the ``retrain`` flow on a cron schedule (``orchestrate.cron``,
weekly by default), registered with the Prefect server in ``PREFECT_API_URL``.

    uv run prefect server start                  # terminal 1: the server and its UI (http://127.0.0.1:4200)
    uv run python -m pipelines.deploy            # register the deployment and its schedule
    uv run python -m pipelines.deploy --serve    # terminal 2: run it on schedule from this process
"""

from __future__ import annotations

from avemo import config
from pipelines.retrain import retrain


def deployment(p: config.Params, params: str = config.DEFAULT_PARAMS):
    """The deployment object (not yet registered)."""
    from prefect.schedules import Cron

    return retrain.to_deployment(name=p.orchestrate.deployment,
                                 schedule=Cron(p.orchestrate.cron, timezone=p.orchestrate.timezone),
                                 parameters={"params": params},
                                 description="Weekly retraining: validate, retrain, evaluate, promote, package.")


def main(params: str = config.DEFAULT_PARAMS, serve: bool = False) -> None:
    """Register the deployment; with --serve, also run it from this process (no worker needed)."""
    from prefect import serve as prefect_serve

    dep = deployment(config.load(params), params)
    if serve:
        prefect_serve(dep)
    else:
        dep_id = dep.apply()
        print(f"registered deployment retrain/{dep.name} ({dep_id}), schedule {dep.schedules}")


if __name__ == "__main__":
    import typer

    typer.run(main)
