"""How fast is the gateway emulator on one core? (The target: >= 2,000 non-streaming
requests/s and 500 concurrent streams, so the emulator is never what a benchmark measures.)

The emulator runs in its own process pinned to one core (``os.sched_setaffinity``); the
load generator runs in this process, pinned to another core when there is one, and
speaks raw HTTP/1.1 over asyncio sockets on loopback so its own cost stays small. Counts
are bounded; the whole run takes a few seconds.

    python bench/emulator_throughput.py [--requests 20000] [--connections 50] [--streams 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

KEY = "bench-key"
BASE_PATH = "/gw_llm_power"  # the real gateway's; the emulator serves only its own
CHAT = f"{BASE_PATH}/v1/chat/completions"


def _pin(core: int) -> int | None:
    """Pin this process to ``core`` when the machine has it; the core used, or None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    chosen = cores[core % len(cores)]
    os.sched_setaffinity(0, {chosen})
    return chosen


def _serve(chunk_delay: float, conn: Connection) -> None:
    """Server process: pinned to the first core, runs until told to stop."""
    from gw_emulator import GatewayEmulator

    core = _pin(0)
    with GatewayEmulator(api_key=KEY, chunk_delay=chunk_delay, base_path=BASE_PATH) as emu:
        conn.send((emu.port, core))
        while conn.recv() == "cpu":  # CPU seconds used so far; anything else: stop
            conn.send(time.process_time())
        conn.send(emu.request_count)


@dataclass
class Server:
    process: BaseProcess
    conn: Connection
    port: int
    core: int | None

    def cpu(self) -> float:
        """CPU seconds the server process has used: its cost whatever else runs."""
        self.conn.send("cpu")
        used: float = self.conn.recv()
        return used

    def stop(self) -> int:
        self.conn.send("stop")
        served: int = self.conn.recv()
        self.process.join(10)
        return served


def start_server(chunk_delay: float = 0.0) -> Server:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(chunk_delay, child), daemon=True)
    process.start()
    port, core = parent.recv()
    return Server(process, parent, port, core)


def request_bytes(body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response: status and body (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        body = bytearray()
        while True:
            size = int((await reader.readline()).strip(), 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(body)
            body += data[:-2]
    start = lowered.index(b"content-length:") + 15
    length = int(lowered[start : lowered.index(b"\r\n", start)])
    return status, await reader.readexactly(length)


class _PlainClient(asyncio.Protocol):
    """A minimal keep-alive client: sends the next request as soon as a response is
    complete. A Protocol, not streams, so the load generator stays cheaper than the
    server it measures."""

    def __init__(self, raw: bytes, budget: list[int], done: asyncio.Future[None]) -> None:
        self.raw = raw
        self.budget = budget  # shared: [requests left, failures]
        self.done = done
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._next()

    def _next(self) -> None:
        assert self.transport is not None
        if self.budget[0] <= 0:
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)
            return
        self.budget[0] -= 1
        self.transport.write(self.raw)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower()
        start = head.index(b"content-length:") + 15
        stop = head.find(b"\r\n", start)
        length = int(head[start : stop if stop > 0 else None])
        if len(self.buffer) < end + 4 + length:
            return
        self.budget[1] += not self.buffer.startswith(b"HTTP/1.1 200")
        self.buffer = self.buffer[end + 4 + length :]
        self._next()


async def plain_load(port: int, total: int, connections: int) -> tuple[float, int]:
    """``total`` non-streaming requests over ``connections`` keep-alive connections."""
    raw = request_bytes(
        {"model": "gpt-5.4", "messages": [{"role": "user", "content": "Hello there"}]}
    )
    loop = asyncio.get_running_loop()
    budget = [total, 0]
    start = time.perf_counter()
    waiters = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(partial(_PlainClient, raw, budget, done), "127.0.0.1", port)
        waiters.append(done)
    await asyncio.gather(*waiters)
    return time.perf_counter() - start, budget[1]


async def stream_load(port: int, streams: int, model: str) -> tuple[float, int, int]:
    """``streams`` streaming requests at once, each on its own connection."""
    raw = request_bytes(
        {
            "model": model,
            "messages": [{"role": "user", "content": "Tell me about " + "rivers and bridges " * 8}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    incomplete = 0
    events = 0

    async def one() -> None:
        nonlocal incomplete, events
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        status, body = await read_response(reader)
        events += body.count(b"data: ")
        incomplete += status != 200 or not body.endswith(b"data: [DONE]\n\n")
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(streams)))
    return time.perf_counter() - start, incomplete, events


def _unpaced(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Non-streaming requests, then full-speed streams of both dialects."""
    server = start_server()
    client_core = _pin(1)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"server pinned to core {server.core}, load generator on core {client_core}")
    print(
        f"load average {load} on {os.cpu_count()} cores: wall-clock rates shrink when other "
        "processes share the cores; server CPU time per request does not"
    )
    asyncio.run(plain_load(server.port, 500, args.connections))  # warm-up
    cpu = server.cpu()
    elapsed, failures = asyncio.run(plain_load(server.port, args.requests, args.connections))
    cpu = server.cpu() - cpu
    rps = args.requests / elapsed
    figures["non_streaming"] = dict(requests=args.requests, connections=args.connections,
                                    seconds=elapsed, rps=rps, failed=failures)  # fmt: skip
    print(
        f"non-streaming: {args.requests} requests over {args.connections} connections in "
        f"{elapsed:.2f} s = {rps:,.0f} req/s ({failures} failed); "
        f"server CPU {cpu / args.requests * 1e6:.0f} us/request = "
        f"{args.requests / cpu:,.0f} req/s per CPU-second"
    )
    for model in ("gpt-5.4", "gemini-3-flash-preview"):
        cpu = server.cpu()
        elapsed, incomplete, events = asyncio.run(stream_load(server.port, args.streams, model))
        cpu = server.cpu() - cpu
        figures["streams"].append(
            dict(model=model, concurrent=args.streams, events=events / args.streams,
                 seconds=elapsed, per_s=args.streams / elapsed, incomplete=incomplete)
        )  # fmt: skip
        print(
            f"streams ({model}): {args.streams} concurrent, "
            f"{events / args.streams:.0f} events each, in {elapsed:.2f} s = "
            f"{args.streams / elapsed:,.0f} streams/s ({incomplete} incomplete); "
            f"server CPU {cpu / args.streams * 1e6:.0f} us/stream"
        )
    server.stop()


def _paced(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Streams paced like a model's, all open at once: does the emulator keep the pace?"""
    paced = start_server(args.chunk_delay)
    cpu = paced.cpu()
    elapsed, incomplete, events = asyncio.run(stream_load(paced.port, args.streams, "gpt-5.4"))
    cpu = paced.cpu() - cpu
    floor = (events / args.streams - 1) * args.chunk_delay
    figures["paced"] = dict(open=args.streams, seconds=elapsed, floor=floor,
                            incomplete=incomplete)  # fmt: skip
    print(
        f"paced streams: {args.streams} open at once, "
        f"a chunk every {args.chunk_delay * 1000:.0f} ms, "
        f"all done in {elapsed:.2f} s (pacing alone: {floor:.2f} s; {incomplete} incomplete); "
        f"server CPU {cpu:.2f} s"
    )
    paced.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument(
        "--chunk-delay",
        type=float,
        default=0.02,
        help="seconds between chunks in the paced stream phase",
    )
    parser.add_argument("--json", help="also write the figures here (for make bench)")
    args = parser.parse_args()
    figures: dict[str, Any] = {"streams": []}
    _unpaced(args, figures)
    _paced(args, figures)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(figures, fh)


if __name__ == "__main__":
    main()
