"""Batch runs: OpenAI Batch API files through the gateway, resumable, local or on Ray.

``run_batch(input, output, BatchConfig(...))`` from Python, ``gw batch`` from a shell.
Ray is imported only for ``engine="ray"`` (the ``[ray]`` extra); Redis only when the
limiter has a ``redis://`` URL (the ``[redis]`` extra).
"""

from __future__ import annotations

from gw_core.batch.engine import (
    BatchConfig,
    BatchSummary,
    arun_batch,
    plan_rows,
    run_batch,
    run_rows,
)
from gw_core.batch.files import BatchInputError, OutputFile, Row, read_rows, scan_output
from gw_core.batch.mapping import amap_limited
from gw_core.batch.send import RowOutcome, send_row

__all__ = [
    "BatchConfig",
    "BatchInputError",
    "BatchSummary",
    "OutputFile",
    "Row",
    "RowOutcome",
    "amap_limited",
    "arun_batch",
    "plan_rows",
    "read_rows",
    "run_batch",
    "run_rows",
    "scan_output",
    "send_row",
]
