"""``gw batch``: an OpenAI Batch API file through the gateway, with a progress bar.

The engine is :mod:`gw_core.batch`; this module is the command line around it: options,
the limiter from ``--rpm/--tpm/--limiter-url``, a tqdm bar on a terminal (plain lines
every few seconds otherwise), Ctrl-C that stops cleanly, and the summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from gw_cli.options import add_command, add_progress_flag

if TYPE_CHECKING:  # the engine loads when the command runs, so `gw --help` stays fast
    from gw_core.batch import BatchConfig, BatchSummary, RowOutcome

__all__ = ["Progress", "register_batch", "run_batch_command"]

ENV_LIMITER_URL = "GW_LIMITER_URL"
_PLAIN_EVERY = 5.0


def register_batch(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "batch",
        run_batch_command,
        help="run an OpenAI Batch API .jsonl file through the gateway (resumable)",
        description=(
            "Send every row of an OpenAI Batch API input file (custom_id, method, url "
            "/v1/chat/completions, body) and append OpenAI Batch output lines to OUTPUT in "
            "the order rows finish; each line carries its custom_id. Re-running with the "
            "same OUTPUT sends only rows not yet answered (failed rows too with "
            "--retry-failed). Ctrl-C stops cleanly; rows in flight run again next time."
        ),
    )
    parser.add_argument("input", metavar="INPUT.jsonl", help="OpenAI Batch API input file")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT.jsonl")
    parser.add_argument("--model", help="model for rows whose body has none")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--rpm", type=int, help="requests per minute per pool (sliding)")
    parser.add_argument("--tpm", type=int, help="tokens per minute per pool (estimated)")
    parser.add_argument(
        "--limiter-url",
        help=f"redis://... to share the limit across processes (default ${ENV_LIMITER_URL})",
    )
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument("--workers", type=int, default=2, help="Ray workers (--engine ray)")
    parser.add_argument("--retry-failed", action="store_true", help="send failed rows again")
    add_progress_flag(parser)


class Progress:
    """Rows done, errors, tokens and ETA: tqdm on a terminal, a plain line every 5 s else."""

    def __init__(self, total: int, stream: TextIO, *, enabled: bool = True) -> None:
        self.total, self.stream, self.enabled = total, stream, enabled
        self.done = self.errors = self.tokens = 0
        self.started = self._last = time.monotonic()
        self._bar: Any = None
        if enabled and stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="row", file=stream, dynamic_ncols=True)

    def __call__(self, outcome: RowOutcome) -> None:
        self.done += 1
        self.errors += 0 if outcome.ok else 1
        self.tokens += outcome.tokens_in + outcome.tokens_out
        if self._bar is not None:
            self._bar.set_postfix(errors=self.errors, tokens=self.tokens, refresh=False)
            self._bar.update(1)
        elif self.enabled and time.monotonic() - self._last >= _PLAIN_EVERY:
            self._last = time.monotonic()
            print(self.line(), file=self.stream, flush=True)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = f"{(self.total - self.done) / rate:.0f}s" if rate > 0 else "?"
        return (
            f"gw batch: {self.done}/{self.total} rows, {self.errors} errors, "
            f"{self.tokens} tokens, {rate:.1f} rows/s, ETA {eta}"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and self.done:
            print(self.line(), file=self.stream, flush=True)


def _config(args: argparse.Namespace) -> BatchConfig:
    from gw_cli.main import CommandError
    from gw_core.batch import BatchConfig
    from gw_core.limits import RateLimiter

    if args.concurrency < 1:
        raise CommandError(f"--concurrency must be at least 1, not {args.concurrency}")
    if args.workers < 1:
        raise CommandError(f"--workers must be at least 1, not {args.workers}")
    limiter = None
    url = args.limiter_url or os.environ.get(ENV_LIMITER_URL) or None
    if args.rpm is not None or args.tpm is not None:
        limiter = RateLimiter(args.rpm, args.tpm, url=url)
    elif args.limiter_url:
        raise CommandError("--limiter-url needs --rpm and/or --tpm (the limits to share)")
    return BatchConfig(
        model=args.model, concurrency=args.concurrency, retry_failed=args.retry_failed,
        limiter=limiter,
    )  # fmt: skip


async def _local(args: argparse.Namespace, config: BatchConfig, progress: Progress) -> BatchSummary:
    from gw_core.batch import arun_batch

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not main thread / Windows
        loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        return await arun_batch(args.input, args.output, config, on_row=progress, stop=stop)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)


def run_batch_command(args: argparse.Namespace) -> int:
    from gw_cli.main import _reported
    from gw_core.batch import plan_rows, read_rows, run_batch

    with _reported("batch"):
        config = _config(args).resolved()
        rows = read_rows(args.input, model=args.model)
        pending, skipped = plan_rows(rows, args.output, retry_failed=args.retry_failed)
        if skipped:
            print(f"gw batch: {skipped} of {len(rows)} rows already answered", file=sys.stderr)
        progress = Progress(len(pending), sys.stderr, enabled=not args.no_progress)
        try:
            if args.engine == "ray":
                summary = run_batch(
                    args.input, args.output, config, engine="ray", workers=args.workers,
                    on_row=progress,
                )  # fmt: skip
            else:
                summary = asyncio.run(_local(args, config, progress))
        finally:
            progress.close()
    print(summary.render(), file=sys.stderr)
    if summary.interrupted:
        return 130
    return 1 if summary.rows_failed else 0
