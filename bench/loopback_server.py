"""A minimal, fast OpenAI-compatible server on loopback, for client-overhead benchmarks.

Why not the emulator: a benchmark of client libraries must spend as little time as
possible on the server side, and the same fixed time for every client. This server
answers every ``POST`` with prebuilt bytes and does no JSON parsing at all:

- a non-streaming request gets one fixed ``chat.completion`` body;
- a request whose body holds ``"stream": true`` gets a fixed SSE stream, chunked
  transfer encoding, one HTTP chunk per event: N content chunks (the first carries the
  role), a ``finish_reason`` chunk, a usage chunk with empty ``choices``, ``[DONE]``.

It runs pinned to one core (``os.sched_setaffinity``) so the client under test keeps the
other one. Usage: ``python loopback_server.py --cpu 0 --chunks 200``; it prints
``READY <port>`` on stdout and serves until its stdin closes or it is terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any

MODEL = "gpt-5.4"
ANSWER = "The benchmark server answers every question the same way."
CREATED = 1_764_000_000


def completion_body() -> bytes:
    """The fixed non-streaming answer, as the gateway's GPT dialect sends it."""
    payload: dict[str, Any] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 11, "total_tokens": 23},
        "system_fingerprint": None,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def stream_events(chunks: int) -> list[bytes]:
    """The SSE events of one streamed answer with ``chunks`` content chunks."""
    events: list[dict[str, Any]] = []
    for i in range(chunks):
        delta: dict[str, Any] = {"content": f"tok{i} "}
        if i == 0:
            delta = {"role": "assistant", "content": "tok0 "}
        events.append(_chunk(delta))
    events.append(_chunk({}, finish="stop"))
    usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}
    events.append({**_chunk({}), "choices": [], "usage": usage})
    out = [b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in events]
    out.append(b"data: [DONE]\n\n")
    return out


def _http_chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def build_responses(chunks: int) -> tuple[bytes, bytes]:
    """Whole HTTP responses (status line to last byte): non-streaming and streaming."""
    body = completion_body()
    plain = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        b"x-request-id: req-bench\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    sse = b"".join(_http_chunk(e) for e in stream_events(chunks)) + b"0\r\n\r\n"
    streamed = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"x-request-id: req-bench\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\n\r\n" + sse
    )
    return plain, streamed


class _Http(asyncio.Protocol):
    """HTTP/1.1 keep-alive with ``content-length`` request bodies; nothing else needed."""

    __slots__ = ("_buf", "_plain", "_streamed", "_transport")

    def __init__(self, plain: bytes, streamed: bytes) -> None:
        self._plain = plain
        self._streamed = streamed
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].lower()
            start = head.find(b"content-length:")
            length = 0
            if start >= 0:
                stop = head.find(b"\r\n", start)
                length = int(head[start + 15 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(buf) < total:
                break
            body = buf[end + 4 : total]
            buf = buf[total:]
            streaming = b'"stream":true' in body or b'"stream": true' in body
            assert self._transport is not None
            self._transport.write(self._streamed if streaming else self._plain)
        self._buf = buf


async def serve(host: str, port: int, chunks: int) -> None:
    """Serve until stdin closes (the parent went away) or SIGTERM/SIGINT."""
    plain, streamed = build_responses(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Http(plain, streamed), host, port, backlog=2048, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=200, help="content chunks per stream")
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this core")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("the benchmark server listens on loopback only")
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(serve(args.host, args.port, args.chunks))


if __name__ == "__main__":
    main()
