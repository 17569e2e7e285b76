"""Starting, stopping and sharing the emulator: thread, sockets, key, concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import openai
import pytest

from gw_emulator import GatewayEmulator

from .support import ask


def test_context_manager_binds_a_free_port_and_generates_a_key() -> None:
    with GatewayEmulator() as emu:
        assert emu.running and emu.port > 0
        assert emu.base_url == f"http://127.0.0.1:{emu.port}"
        assert emu.api_key.startswith("gw-emu-") and len(emu.api_key) == 31
        assert emu.api_key not in repr(emu)
    assert not emu.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", emu.port), timeout=2).close()


def test_given_key_and_two_emulators_side_by_side() -> None:
    with GatewayEmulator(api_key="k1") as one, GatewayEmulator(api_key="k2") as two:
        assert one.port != two.port and one.api_key == "k1"
        raw = openai.OpenAI(base_url=two.base_url + "/v1", api_key="k2", max_retries=0)
        raw.chat.completions.create(model="gpt-5.4", messages=ask("hi"))
        assert (one.request_count, two.request_count) == (0, 1)


def test_start_and_stop_are_idempotent_and_stop_closes_connections() -> None:
    emu = GatewayEmulator()
    with pytest.raises(RuntimeError, match="start"):
        _ = emu.base_url
    emu.stop()  # never started: nothing to do
    assert emu.start() is emu and emu.start() is emu
    idle = socket.create_connection(("127.0.0.1", emu.port), timeout=5)
    threads = threading.active_count()
    emu.stop()
    emu.stop()
    with contextlib.suppress(ConnectionResetError):  # dropped: a reset or a clean EOF
        assert idle.recv(10) == b""
    idle.close()
    assert threading.active_count() == threads - 1


def test_port_in_use_is_a_clear_error() -> None:
    with GatewayEmulator() as first:
        second = GatewayEmulator(port=first.port)
        with pytest.raises(RuntimeError, match="could not start"):
            second.start()
        assert not second.running


def test_the_log_keeps_the_latest_requests() -> None:
    with GatewayEmulator(log_limit=3) as emu:
        raw = openai.OpenAI(base_url=emu.base_url + "/v1", api_key=emu.api_key, max_retries=0)
        for index in range(5):
            raw.chat.completions.create(model="gpt-5.4", messages=ask(f"q{index}"))
        assert [r.body["messages"][0]["content"] for r in emu.requests] == ["q2", "q3", "q4"]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="api_key"):
        GatewayEmulator(api_key="  ")
    with pytest.raises(ValueError, match="chunk_delay"):
        GatewayEmulator(chunk_delay=-1)
    with pytest.raises(ValueError, match="log_limit"):
        GatewayEmulator(log_limit=0)


async def test_many_concurrent_streams_all_complete(
    aclient: openai.AsyncOpenAI, emu: GatewayEmulator
) -> None:
    async def one(index: int) -> str:
        stream = await aclient.chat.completions.create(
            model=["gpt-5.4", "claude-sonnet-4-6", "gemini-2.5-pro"][index % 3],
            messages=ask(f"number {index} please"),
            stream=True,
        )
        text = ""
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
        return text

    texts = await asyncio.gather(*(one(i) for i in range(60)))
    assert texts == [f"You said: number {i} please" for i in range(60)]
    assert emu.request_count == 60 and {r.status for r in emu.requests} == {200}
    assert emu.wait_idle(2)


def test_requests_snapshot_is_a_copy(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    client.chat.completions.create(model="gpt-5.4", messages=ask("hi"))
    snapshot = emu.requests
    snapshot.clear()
    assert emu.request_count == 1
    record = emu.requests[0]
    with pytest.raises(AttributeError):
        record.status = 500  # type: ignore[misc]
    assert record.method == "POST" and record.model == "gpt-5.4" and record.body["messages"]
