"""OpenAI Batch API files: reading the input, scanning and appending to the output.

Input, one JSON object per line::

    {"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions",
     "body": {"model": "gpt-5.4", "messages": [...], ...}}

Output, one line per answered row, in completion order (every line carries its
``custom_id``)::

    {"id": "batch_req_...", "custom_id": "q1",
     "response": {"status_code": 200, "request_id": "...", "body": {...completion...}},
     "error": null}

A row that failed has ``error: {"code", "message"}``; when the gateway answered with an
error status, ``response`` holds that status and the error body too.

The whole input is checked before any request: a file with a bad line is refused with
the line numbers and what to change, as OpenAI's Batch API refuses it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gw_core.catalog import ModelSpec, parse
from gw_core.errors import GatewayInputError
from gw_core.limits import estimate_tokens
from gw_core.wire.content import validate_messages
from gw_core.wire.params import build_body

__all__ = ["BatchInputError", "OutputFile", "Row", "read_rows", "scan_output"]

_URLS = ("/v1/chat/completions", "/chat/completions")
_SHOWN = 10


class BatchInputError(GatewayInputError):
    """The input file has lines that cannot be sent; nothing was sent."""


@dataclass(frozen=True)
class Row:
    """One input line, checked and shaped for the wire (picklable, for Ray workers)."""

    line: int
    custom_id: str
    body: dict[str, Any]
    tokens: int

    @property
    def spec(self) -> ModelSpec:
        """The model the row asks for."""
        return parse(self.body["model"])


def _row(line_no: int, text: str, model: str | None) -> Row:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise ValueError("custom_id must be a non-empty string")
    if data.get("method", "POST") != "POST":
        raise ValueError(f"{custom_id}: method must be POST, got {data.get('method')!r}")
    if data.get("url") not in _URLS:
        raise ValueError(f"{custom_id}: url must be /v1/chat/completions, got {data.get('url')!r}")
    body = data.get("body")
    if not isinstance(body, dict):
        raise ValueError(f"{custom_id}: body must be a JSON object (a chat completion request)")
    params = {k: v for k, v in body.items() if k not in ("model", "messages")}
    if params.pop("stream", False):
        raise ValueError(f"{custom_id}: remove stream: batch rows are answered whole")
    params.pop("stream_options", None)
    model_id = body.get("model") or model
    if not model_id:
        raise ValueError(f"{custom_id}: body has no model; add one or pass --model / model=")
    spec = parse(model_id)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{custom_id}: body.messages must be a non-empty list")
    try:
        validate_messages(spec, messages)
        shaped = build_body(spec, messages, params)
    except GatewayInputError as exc:
        raise ValueError(f"{custom_id}: {exc}") from None
    return Row(line_no, custom_id, shaped, estimate_tokens(shaped))


def read_rows(path: str | os.PathLike[str], *, model: str | None = None) -> list[Row]:
    """Every row of the input, checked; raises :class:`BatchInputError` listing bad lines."""
    rows: list[Row] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                row = _row(line_no, text, model)
            except ValueError as exc:
                problems.append(f"line {line_no}: {exc}")
                continue
            if row.custom_id in seen:
                problems.append(
                    f"line {line_no}: custom_id {row.custom_id!r} repeats line "
                    f"{seen[row.custom_id]}; custom_ids must be unique"
                )
                continue
            seen[row.custom_id] = line_no
            rows.append(row)
    if problems:
        more = f"\n... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise BatchInputError(
            f"{path}: {len(problems)} line(s) cannot be sent (nothing was sent):\n"
            + "\n".join(problems[:_SHOWN])
            + more
        )
    return rows


@dataclass
class Answered:
    """What an existing output already holds: custom_ids answered ok, and failed."""

    ok: set[str]
    failed: set[str]


def _iter_complete_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if raw.endswith(b"\n"):
                yield number, raw


def scan_output(path: str | os.PathLike[str]) -> Answered:
    """Read an earlier run's output, cutting a torn last line (a kill mid-write) away.

    Only the last line can be torn (lines are written whole and in order); it is dropped
    from the file, so its row runs again. A bad line elsewhere is not ours: refuse it.
    """
    target = Path(path)
    answered = Answered(set(), set())
    if not target.exists():
        return answered
    _truncate_torn_tail(target)
    for number, raw in _iter_complete_lines(target):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            custom_id = line["custom_id"]
        except (ValueError, KeyError, TypeError):
            raise BatchInputError(
                f"{target}: line {number} is not a batch output line; "
                "pass a new output path or repair the file"
            ) from None
        if line.get("error") is None:
            answered.ok.add(custom_id)
            answered.failed.discard(custom_id)
        elif custom_id not in answered.ok:
            answered.failed.add(custom_id)
    return answered


def _truncate_torn_tail(path: Path) -> None:
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # Walk back to the last newline; everything after it is a partial line.
        block = 65536
        end = size
        while end > 0:
            start = max(0, end - block)
            handle.seek(start)
            chunk = handle.read(end - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                handle.truncate(start + cut + 1)
                break
            end = start
        else:
            handle.truncate(0)
        handle.flush()
        os.fsync(handle.fileno())


class OutputFile:
    """Appends whole lines, flushed at once and fsynced every ``fsync_every`` lines.

    Each line goes out in one ``write`` of the line plus its newline, so a kill can only
    tear the last line, which :func:`scan_output` removes on the next run.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync_every: int = 64) -> None:
        self.path = Path(path)
        self.fsync_every = max(1, fsync_every)
        self._handle: IO[bytes] = open(self.path, "ab")  # noqa: SIM115 (closed in close())
        self._unsynced = 0

    def write(self, line: dict[str, Any]) -> None:
        """Append one output line and flush it to the OS."""
        data = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self._handle.write(data)
        self._handle.flush()
        self._unsynced += 1
        if self._unsynced >= self.fsync_every:
            self.sync()

    def sync(self) -> None:
        """Make every written line durable (survives a power cut, not only a kill)."""
        if self._unsynced:
            os.fsync(self._handle.fileno())
            self._unsynced = 0

    def close(self) -> None:
        """Sync and close; safe to call twice."""
        if not self._handle.closed:
            self.sync()
            self._handle.close()
