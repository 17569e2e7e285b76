"""Every injected fault, seen through the raw openai client (sync and async) and the log."""

from __future__ import annotations

import json
import socket
import time
from email.utils import parsedate_to_datetime
from typing import Any

import openai
import pytest

from gw_emulator import Fault, GatewayEmulator, ScriptedReply

from .support import STREAM_CUT_ERROR, STREAM_TIMEOUT_ERROR, ask

LONG = ScriptedReply(content="one two three four five six seven eight nine ten eleven twelve")
MODEL = "gpt-5.4"


def collect(stream: Any) -> tuple[str, str | None]:
    """Text and finish_reason of a sync stream."""
    text, finish = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    return text, finish


# -- error statuses and their headers -------------------------------------------------------


def test_status_with_retry_after_seconds_ms_and_should_retry(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.inject(Fault.status(429, retry_after=2, retry_after_ms=1500, should_retry=True))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=ask("hi"))
    headers = caught.value.response.headers
    assert headers["retry-after"] == "2"
    assert headers["retry-after-ms"] == "1500"
    assert headers["x-should-retry"] == "true"
    assert caught.value.body == {
        "message": "emulated upstream error: HTTP 429",
        "type": "rate_limit_error",
        "param": None,
        "code": None,
    }
    assert [(r.status, r.fault) for r in emu.requests] == [(429, "status(429)")]


def test_status_with_retry_after_as_http_date(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.inject(Fault.status(503, retry_after=30, retry_after_date=True, should_retry=False))
    before = time.time()
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=MODEL, messages=ask("hi"))
    headers = caught.value.response.headers
    when = parsedate_to_datetime(headers["retry-after"]).timestamp()
    assert before + 28 <= when <= time.time() + 31
    assert headers["x-should-retry"] == "false"


def test_status_with_custom_body_code_and_message(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.inject(Fault.status(500, code=500, message="上游错误"))
    emu.inject(Fault.status(400, body={"error": {"message": "custom", "code": None}}))
    with pytest.raises(openai.InternalServerError) as first:
        client.chat.completions.create(model=MODEL, messages=ask("hi"))
    assert first.value.body == {
        "message": "上游错误",
        "type": "server_error",
        "param": None,
        "code": 500,
    }
    with pytest.raises(openai.BadRequestError) as second:
        client.chat.completions.create(model=MODEL, messages=ask("hi"))
    assert second.value.body == {"message": "custom", "code": None}


@pytest.mark.parametrize("stream", [False, True])
def test_html_502_page(client: openai.OpenAI, emu: GatewayEmulator, stream: bool) -> None:
    emu.inject(Fault.html())
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=MODEL, messages=ask("hi"), stream=stream)
    response = caught.value.response
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html"
    assert "<center><h1>502 Bad Gateway</h1></center>" in response.text


def test_quota_and_model_not_found(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.inject(Fault.quota())
    emu.inject(Fault.model_not_found())
    with pytest.raises(openai.PermissionDeniedError) as quota:
        client.chat.completions.create(model=MODEL, messages=ask("hi"))
    assert (
        isinstance(quota.value.body, dict) and quota.value.body["code"] == "insufficient_user_quota"
    )
    assert "额度" in quota.value.body["message"]
    with pytest.raises(openai.InternalServerError) as missing:
        client.chat.completions.create(model="claude-opus-4-7", messages=ask("hi"))
    assert isinstance(missing.value.body, dict) and missing.value.body["code"] == "model_not_found"
    assert "claude-opus-4-7" in missing.value.body["message"]


# -- queueing: times, model filter, FIFO ---------------------------------------------------------


def test_times_model_filter_and_fifo(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.inject(Fault.status(502), times=2, model="gpt-5.4-hc")
    emu.inject(Fault.status(429))
    emu.inject(Fault.status(500))
    outcomes = []
    for model in ["gpt-5.4-official", "gpt-5.4-hc", "gpt-5.4-hc", "gpt-5.4-hc", "gpt-5.4"]:
        try:
            client.chat.completions.create(model=model, messages=ask("hi"))
            outcomes.append(200)
        except openai.APIStatusError as exc:
            outcomes.append(exc.status_code)
    assert outcomes == [429, 502, 502, 500, 200]
    assert [r.model for r in emu.requests] == [
        "gpt-5.4-official",
        "gpt-5.4-hc",
        "gpt-5.4-hc",
        "gpt-5.4-hc",
        "gpt-5.4",
    ]
    assert emu.requests[-1].fault is None


def test_fault_constructors_validate_their_arguments() -> None:
    with pytest.raises(ValueError, match="400-599"):
        Fault.status(200)
    with pytest.raises(ValueError, match="after_chunks"):
        Fault.cut(-1)
    with pytest.raises(ValueError, match="seconds"):
        Fault.delay(-1)
    with pytest.raises(ValueError, match="retry_after"):
        Fault.status(429, retry_after_date=True)
    assert Fault.stall(2, 0.5).name == "stall(after_chunks=2, 0.5s)"
    assert Fault.cut(1, done=True).name == "cut(after_chunks=1, done)"


def test_inject_validates(emu: GatewayEmulator) -> None:
    with pytest.raises(TypeError):
        emu.inject("429")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="times"):
        emu.inject(Fault.reset(), times=0)


# -- connection faults -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_reset_gives_a_connection_error_and_no_status(
    client: openai.OpenAI, emu: GatewayEmulator, stream: bool
) -> None:
    emu.inject(Fault.reset())
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=MODEL, messages=ask("hi"), stream=stream)
    record = emu.requests[-1]
    assert (record.status, record.fault) == (None, "reset")
    # The next request works on a fresh connection.
    assert client.chat.completions.create(model=MODEL, messages=ask("hi")).choices


def test_reset_is_a_tcp_reset(emu: GatewayEmulator) -> None:
    emu.inject(Fault.reset())
    body = json.dumps({"model": MODEL, "messages": ask("hi")})
    raw = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {emu.api_key}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(raw)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)


def test_delay_before_headers(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.inject(Fault.delay(0.2))
    start = time.monotonic()
    response = client.chat.completions.create(model=MODEL, messages=ask("hi"))
    assert time.monotonic() - start >= 0.2
    assert response.choices[0].finish_reason == "stop"
    assert emu.requests[-1].fault == "delay(0.2s)"


def test_delay_past_the_client_timeout_is_a_timeout(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.inject(Fault.delay(0.5))
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.1).chat.completions.create(model=MODEL, messages=ask("hi"))


# -- stream faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("after", [0, 2])
def test_cut_raises_the_versions_connection_error(
    client: openai.OpenAI, emu: GatewayEmulator, after: int
) -> None:
    emu.script(LONG)
    emu.inject(Fault.cut(after))
    seen = []
    stream = client.chat.completions.create(model=MODEL, messages=ask("hi"), stream=True)
    with pytest.raises(STREAM_CUT_ERROR):
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                seen.append(chunk.choices[0].delta.content)
    assert len(seen) == after
    assert emu.requests[-1].status == 200 and not emu.requests[-1].disconnected_early


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-opus-4-5", "gemini-2.5-pro"])
def test_cut_with_done_ends_quietly_without_finish_reason(
    client: openai.OpenAI, emu: GatewayEmulator, model: str
) -> None:
    emu.script(LONG)
    emu.inject(Fault.cut(2, done=True))
    text, finish = collect(
        client.chat.completions.create(model=model, messages=ask("hi"), stream=True)
    )
    assert finish is None
    assert text and LONG.content and LONG.content.startswith(text) and text != LONG.content


def test_cut_non_stream_closes_mid_body(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.inject(Fault.cut(0))
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=MODEL, messages=ask("hi"))


def test_error_event_mid_stream(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.script(LONG)
    emu.inject(Fault.error_event(1, message="upstream overloaded", code=529))
    seen = []
    with pytest.raises(openai.APIError, match="upstream overloaded") as caught:
        for chunk in client.chat.completions.create(model=MODEL, messages=ask("hi"), stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                seen.append(chunk.choices[0].delta.content)
    assert len(seen) == 1
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == 529


def test_error_event_non_stream_is_a_200_with_an_error_body(emu: GatewayEmulator) -> None:
    emu.inject(Fault.error_event(0, message="failed late"))
    raw = openai.OpenAI(base_url=emu.base_url + "/v1", api_key=emu.api_key, max_retries=0)
    response = raw.chat.completions.with_raw_response.create(model=MODEL, messages=ask("hi"))
    assert response.status_code == 200
    assert json.loads(response.text)["error"]["message"] == "failed late"


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_chunk_or_body(client: openai.OpenAI, emu: GatewayEmulator, stream: bool) -> None:
    emu.script(LONG)
    emu.inject(Fault.malformed(1))
    with pytest.raises(json.JSONDecodeError):
        result = client.chat.completions.create(model=MODEL, messages=ask("hi"), stream=stream)
        if stream:
            collect(result)


def test_malformed_chunk_is_followed_by_the_rest_of_the_stream(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.inject(Fault.malformed(1))
    with client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=ask("hi there"), stream=True
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert lines.index("data: {not json") == 2  # role chunk, one content chunk, then it
    assert lines[-1] == "data: [DONE]"


def test_stall_then_the_stream_goes_on(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.script(LONG)
    emu.inject(Fault.stall(2, 0.2))
    start = time.monotonic()
    text, finish = collect(
        client.chat.completions.create(model=MODEL, messages=ask("hi"), stream=True)
    )
    assert time.monotonic() - start >= 0.2
    assert (text, finish) == (LONG.content, "stop")


def test_stall_past_the_read_timeout(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.script(LONG)
    emu.inject(Fault.stall(1, 1.0))
    stream = client.with_options(timeout=0.2).chat.completions.create(
        model=MODEL, messages=ask("hi"), stream=True
    )
    with pytest.raises(STREAM_TIMEOUT_ERROR):
        collect(stream)


def test_stall_non_stream_delays_the_body(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.inject(Fault.stall(0, 0.2))
    start = time.monotonic()
    assert client.chat.completions.create(model=MODEL, messages=ask("hi")).choices
    assert time.monotonic() - start >= 0.2


# -- async -------------------------------------------------------------------------------------


async def test_async_faults(aclient: openai.AsyncOpenAI, emu: GatewayEmulator) -> None:
    emu.inject(Fault.status(429, retry_after=1))
    with pytest.raises(openai.RateLimitError):
        await aclient.chat.completions.create(model=MODEL, messages=ask("hi"))
    emu.inject(Fault.reset())
    with pytest.raises(openai.APIConnectionError):
        await aclient.chat.completions.create(model=MODEL, messages=ask("hi"))
    emu.script(LONG)
    emu.inject(Fault.cut(2))
    stream = await aclient.chat.completions.create(model=MODEL, messages=ask("hi"), stream=True)
    with pytest.raises(STREAM_CUT_ERROR):
        async for _ in stream:
            pass
    emu.inject(Fault.error_event(1))
    stream = await aclient.chat.completions.create(model=MODEL, messages=ask("hi"), stream=True)
    with pytest.raises(openai.APIError):
        async for _ in stream:
            pass
    assert [r.fault for r in emu.requests] == [
        "status(429)",
        "reset",
        "cut(after_chunks=2)",
        "error_event(after_chunks=1)",
    ]


async def test_cancelling_an_async_stream_is_seen_by_the_emulator(
    aclient: openai.AsyncOpenAI, emu: GatewayEmulator
) -> None:
    emu.chunk_delay = 0.05
    emu.script(ScriptedReply(content=" ".join(["word"] * 90)))
    stream = await aclient.chat.completions.create(model=MODEL, messages=ask("hi"), stream=True)
    received = 0
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received += 1
            if received == 2:
                break
    await stream.close()
    assert emu.wait_idle(5)
    record = emu.requests[-1]
    assert record.disconnected_early and record.status == 200
