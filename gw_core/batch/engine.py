"""The batch engine: rows in, output lines out, bounded concurrency, resumable.

``concurrency`` workers pull rows from one iterator (the same bound as a semaphore,
without a task per row for a 100,000-row file). A row's failure is an error line, never
the end of the run. Lines are appended in completion order as rows finish, so a killed
run keeps every finished row; the next run with the same output skips them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Literal

from gw_core.batch.files import OutputFile, Row, read_rows, scan_output
from gw_core.batch.send import RowOutcome, send_row
from gw_core.errors import GatewayInputError
from gw_core.limits import RateLimiter
from gw_core.retry import RetryPolicy
from gw_core.settings import Settings
from gw_core.transport import Gateway

__all__ = [
    "BatchConfig",
    "BatchRun",
    "BatchSummary",
    "arun_batch",
    "plan_rows",
    "run_batch",
    "run_rows",
]

Sink = Callable[[RowOutcome], None]


@dataclass(frozen=True, repr=False)
class BatchConfig:
    """How to run a batch. Picklable: Ray workers get a copy (the key stays a secret).

    ``settings`` None means ``Settings.resolve()`` (``GW_API_KEY`` / ``GW_BASE_URL``) in
    the process that starts the run. ``model`` fills rows whose body has none.
    """

    settings: Settings | None = None
    model: str | None = None
    concurrency: int = 32
    retry_failed: bool = False
    limiter: RateLimiter | None = None
    policy: RetryPolicy | None = None
    pools: tuple[str, ...] = ()
    fsync_every: int = 64

    def __post_init__(self) -> None:
        if type(self.concurrency) is not int or self.concurrency < 1:
            raise GatewayInputError(f"concurrency must be an int >= 1, got {self.concurrency!r}")

    def __repr__(self) -> str:
        return (
            f"BatchConfig(settings={self.settings!r}, model={self.model!r}, "
            f"concurrency={self.concurrency}, retry_failed={self.retry_failed}, "
            f"limiter={self.limiter!r}, pools={self.pools!r})"
        )

    def resolved(self) -> BatchConfig:
        """A copy with settings filled from the environment when they were not given."""
        if self.settings is not None:
            return self
        return _replace(self, settings=Settings.resolve())


def _replace(config: BatchConfig, **changes: Any) -> BatchConfig:
    import dataclasses

    return dataclasses.replace(config, **changes)


@dataclass
class BatchSummary:
    """What a run did: rows, requests, retries, tokens per model and pool, wall time."""

    rows_total: int = 0
    rows_skipped: int = 0
    rows_ok: int = 0
    rows_failed: int = 0
    requests: int = 0
    retries: int = 0
    #: (answering model id, pool) -> [tokens in, tokens out]
    tokens: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    wall_time: float = 0.0
    interrupted: bool = False

    def add(self, outcome: RowOutcome) -> None:
        """Count one finished row."""
        if outcome.ok:
            self.rows_ok += 1
        else:
            self.rows_failed += 1
        self.requests += outcome.attempts
        self.retries += max(0, outcome.attempts - 1)
        if outcome.ok:
            counts = self.tokens.setdefault((outcome.model, outcome.pool), [0, 0])
            counts[0] += outcome.tokens_in
            counts[1] += outcome.tokens_out

    def merge(self, other: BatchSummary) -> None:
        """Add another worker's counts (rows, requests, retries, tokens)."""
        self.rows_ok += other.rows_ok
        self.rows_failed += other.rows_failed
        self.requests += other.requests
        self.retries += other.retries
        for key, (tokens_in, tokens_out) in other.tokens.items():
            counts = self.tokens.setdefault(key, [0, 0])
            counts[0] += tokens_in
            counts[1] += tokens_out
        self.interrupted = self.interrupted or other.interrupted

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tokens as a list of {model, pool, in, out})."""
        return {
            "rows_total": self.rows_total,
            "rows_skipped": self.rows_skipped,
            "rows_ok": self.rows_ok,
            "rows_failed": self.rows_failed,
            "requests": self.requests,
            "retries": self.retries,
            "tokens": [
                {"model": model, "pool": pool, "in": counts[0], "out": counts[1]}
                for (model, pool), counts in sorted(self.tokens.items())
            ],
            "wall_time_s": round(self.wall_time, 3),
            "interrupted": self.interrupted,
        }

    def render(self) -> str:
        """The human summary ``gw batch`` prints at the end."""
        head = "interrupted" if self.interrupted else "done"
        lines = [
            f"{head}: {self.rows_ok} ok, {self.rows_failed} failed, "
            f"{self.rows_skipped} already answered (of {self.rows_total} rows) "
            f"in {self.wall_time:.1f}s",
            f"requests sent: {self.requests} ({self.retries} retries)",
        ]
        for (model, pool), (tokens_in, tokens_out) in sorted(self.tokens.items()):
            lines.append(f"tokens {model} [{pool}]: {tokens_in} in, {tokens_out} out")
        return "\n".join(lines)


def plan_rows(
    rows: Sequence[Row], output: str | PathLike[str], *, retry_failed: bool
) -> tuple[list[Row], int]:
    """The rows still to send, and how many the output already answers.

    A row answered ok is never sent again; a row whose last answer was an error is sent
    again only with ``retry_failed``.
    """
    answered = scan_output(output)
    done = answered.ok if retry_failed else answered.ok | answered.failed
    pending = [row for row in rows if row.custom_id not in done]
    return pending, len(rows) - len(pending)


async def run_rows(
    rows: Iterable[Row],
    config: BatchConfig,
    sink: Sink,
    *,
    stop: asyncio.Event | None = None,
) -> bool:
    """Send ``rows`` with ``config.concurrency`` workers; ``sink`` gets each outcome.

    Returns False when ``stop`` was set first: the rows in flight were cancelled (their
    requests may have reached the gateway, but no line was written for them).
    """
    settings = config.settings or Settings.resolve()
    gateway = Gateway(settings, policy=config.policy, pools=config.pools)
    source: Iterator[Row] = iter(rows)

    async def worker() -> None:
        for row in source:
            sink(await send_row(gateway, row, config.limiter))

    work = asyncio.gather(*(worker() for _ in range(config.concurrency)))
    if stop is None:
        await work
        return True
    stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    waited: set[asyncio.Future[Any]] = {work, stopper}
    try:
        await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if work.done():
        work.result()
        return True
    work.cancel()
    await asyncio.gather(work, return_exceptions=True)
    return False


class BatchRun:
    """One run's bookkeeping, the same for the local and the Ray engine.

    Built before any request: the rows still to send (the output already answers the
    rest) and the refusal of a row the token limit could never admit. Then every finished
    row goes to the output file, the summary and ``on_row``, in that order.
    """

    def __init__(
        self,
        input_path: str | PathLike[str],
        output_path: str | PathLike[str],
        config: BatchConfig | None,
        on_row: Sink | None,
    ) -> None:
        self.config = (config or BatchConfig()).resolved()
        self._started = time.monotonic()
        rows = read_rows(input_path, model=self.config.model)
        self.pending, skipped = plan_rows(rows, output_path, retry_failed=self.config.retry_failed)
        _check_limits(self.pending, self.config.limiter)
        self.summary = BatchSummary(rows_total=len(rows), rows_skipped=skipped)
        self._output_path = output_path
        self._output: OutputFile | None = None
        self._on_row = on_row

    def open(self) -> None:
        """Open the output file for appending (once the run is about to send)."""
        self._output = OutputFile(self._output_path, fsync_every=self.config.fsync_every)

    def record(self, outcome: RowOutcome) -> None:
        """A finished row: its line, its counts, the caller's ``on_row``."""
        assert self._output is not None, "open() the run first"
        self._output.write(outcome.line)
        self.summary.add(outcome)
        if self._on_row is not None:
            self._on_row(outcome)

    def close(self) -> None:
        """Flush and close the output; the summary gets the run's wall time."""
        if self._output is not None:
            self._output.close()
        self.summary.wall_time = time.monotonic() - self._started


async def arun_batch(
    input_path: str | PathLike[str],
    output_path: str | PathLike[str],
    config: BatchConfig | None = None,
    *,
    on_row: Sink | None = None,
    stop: asyncio.Event | None = None,
) -> BatchSummary:
    """Run an OpenAI Batch input file into an output file on this event loop."""
    run = BatchRun(input_path, output_path, config, on_row)
    run.open()
    summary = run.summary
    try:
        summary.interrupted = not await run_rows(run.pending, run.config, run.record, stop=stop)
    except asyncio.CancelledError:
        summary.interrupted = True
        raise
    finally:
        run.close()
    return summary


def _check_limits(rows: Sequence[Row], limiter: RateLimiter | None) -> None:
    """Refuse, before any request, a row the token limit could never admit."""
    if limiter is None:
        return
    for row in rows:
        try:
            limiter.check(row.body["model"], row.tokens)
        except GatewayInputError as exc:
            raise GatewayInputError(f"line {row.line} ({row.custom_id}): {exc}") from None


def run_batch(
    input_path: str | PathLike[str],
    output_path: str | PathLike[str],
    config: BatchConfig | None = None,
    *,
    engine: Literal["local", "ray"] = "local",
    workers: int = 2,
    on_row: Sink | None = None,
) -> BatchSummary:
    """Blocking entry point: the local asyncio engine, or Ray with ``workers`` actors."""
    if engine == "ray":
        from gw_core.batch.ray_engine import run_on_ray

        return run_on_ray(input_path, output_path, config, workers=workers, on_row=on_row)
    if engine != "local":
        raise GatewayInputError(f"engine must be 'local' or 'ray', got {engine!r}")
    return asyncio.run(arun_batch(input_path, output_path, config, on_row=on_row))
