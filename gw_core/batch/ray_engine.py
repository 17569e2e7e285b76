"""The batch engine on Ray: one async actor per worker, lines streamed to the driver.

Why actors, not Ray Data or plain tasks: each worker is the local engine (an event loop
with ``concurrency`` requests in flight, one connection pool, the limiter's Redis
connections), which an actor keeps for the whole run; the driver asks each actor for
its finished rows a few times a second and appends them to the one output file, so
resumption and crash-safety are the same as the local engine's. Ray Data would split the
input into blocks and write its own files, with retries and ordering of its own.

How the key travels: the :class:`BatchConfig` (with the key inside a ``SecretStr``) is
put in Ray's object store once (``ray.put``) and the actors receive only its reference,
so the key is never in a task's arguments, the dashboard, a ``runtime_env`` or a log;
every repr on the way prints ``**********``. Whoever can read the cluster's object store
can read the pickled config, as they could read any task's data.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

from gw_core.batch.engine import BatchConfig, BatchRun, BatchSummary, Sink, run_rows
from gw_core.batch.files import Row
from gw_core.batch.send import RowOutcome
from gw_core.errors import GatewayInputError

__all__ = ["run_on_ray"]

_POLL_SECONDS = 0.2


class _Worker:
    """One engine on a Ray worker; finished rows wait in ``buffer`` for the driver."""

    def __init__(self, config: BatchConfig) -> None:
        self.config = config
        self.buffer: list[RowOutcome] = []

    async def run(self, rows: list[Row]) -> int:
        await run_rows(rows, self.config, self._keep)
        return len(rows)

    def _keep(self, outcome: RowOutcome) -> None:
        self.buffer.append(outcome)  # not a bound ``append``: drain() swaps the list

    async def drain(self) -> list[RowOutcome]:
        out, self.buffer = self.buffer, []
        return out


def _shards(rows: list[Row], workers: int) -> list[list[Row]]:
    return [rows[index::workers] for index in range(workers) if rows[index::workers]]


def run_on_ray(
    input_path: str | PathLike[str],
    output_path: str | PathLike[str],
    config: BatchConfig | None = None,
    *,
    workers: int = 2,
    on_row: Sink | None = None,
) -> BatchSummary:
    """Run the batch on ``workers`` Ray actors (``ray.init()`` first if not connected)."""
    if type(workers) is not int or workers < 1:
        raise GatewayInputError(f"workers must be an int >= 1, got {workers!r}")
    import ray

    run = BatchRun(input_path, output_path, config, on_row)
    config, summary = run.config, run.summary
    shards = _shards(run.pending, workers)
    if config.limiter is not None:
        config = _with_limiter(config, config.limiter.share_of(len(shards) or 1))
    if not ray.is_initialized():
        ray.init(include_dashboard=False)
    actors: list[Any] = []
    try:  # from the output's opening on: whatever fails, the file is closed, actors killed
        run.open()
        actor_class: Any = ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(_Worker)
        config_ref = ray.put(config)
        actors = [actor_class.remote(config_ref) for _ in shards]
        runs: dict[Any, Any] = {
            actor.run.remote(shard): actor for actor, shard in zip(actors, shards, strict=True)
        }
        while runs:
            done, _ = ray.wait(list(runs), num_returns=len(runs), timeout=_POLL_SECONDS)
            for outcomes in ray.get([actor.drain.remote() for actor in actors]):
                for outcome in outcomes:
                    run.record(outcome)
            for ref in done:
                ray.get(ref)  # a worker that crashed raises here
                del runs[ref]
    except KeyboardInterrupt:  # Ctrl-C: the rows drained so far are written; stop cleanly
        summary.interrupted = True
    except BaseException:
        summary.interrupted = True
        raise
    finally:
        for actor in actors:
            ray.kill(actor)
        run.close()
    return summary


def _with_limiter(config: BatchConfig, limiter: Any) -> BatchConfig:
    import dataclasses

    return dataclasses.replace(config, limiter=limiter)
