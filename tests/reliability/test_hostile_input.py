"""A hostile gateway's malformed answers, echoed keys, and requests that cannot work.

Against :mod:`tests.reliability.hostile` on loopback, through both adapters' public API
on the four call paths: every malformed answer is a typed error of :mod:`gw_core.errors`
(never an AttributeError, TypeError, RecursionError or a framework's ValidationError);
a key the gateway echoes anywhere (code, request id, body, stream excerpt, cut short at
an excerpt's edge, any length) reaches no message, traceback or framework callback; and
what cannot work is refused before any request.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from gw_core import errors
from tests.reliability.drivers import (
    ADAPTERS,
    PATHS,
    Adapter,
    FakeTime,
    LlamaIndexLegacy,
    Path,
    build,
    change_settings,
    llamaindex_events,
    run,
)
from tests.reliability.hostile import Conn, HostileServer, chunk_event, hostile_server

pytestmark = pytest.mark.timeout(120)

MODEL = "gpt-5.4"
STREAMS: tuple[Path, ...] = ("stream", "astream")
DONE = b"data: [DONE]\n\n"
FINISH = chunk_event({}, finish="stop")
SHORT_KEY = "Zq7x9"
LONG_KEY = "sk-hostile-0123456789abcdefghijklmn"


def _model(adapter: Adapter, server: HostileServer, **options: Any) -> Any:
    return build(adapter, server, MODEL, policy=FakeTime().policy(), **options)


def _sse(*events: bytes) -> Callable[[Conn], Any]:
    async def script(conn: Conn) -> None:
        await conn.head()
        await conn.chunk(b"".join(events))
        await conn.end()

    return script


def _body(status: int, body: bytes, content_type: str = "application/json", **headers: str):  # type: ignore[no-untyped-def]
    async def script(conn: Conn) -> None:
        await conn.head(status, content_type=content_type, headers=headers, length=len(body))
        await conn.raw(body)

    return script


def _tool_delta(**call: Any) -> bytes:
    raw = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": "{}"}}
    raw.update(call)
    return chunk_event({"tool_calls": [raw]})


DEEP = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
CONTENT = chunk_event({"role": "assistant", "content": "Hi"})

MALFORMED_STREAMS: dict[str, tuple[Callable[[Conn], Any], type[BaseException], str]] = {
    "string-delta": (_sse(chunk_event("oops"), FINISH, DONE), errors.MalformedResponseError, ""),
    "list-tool-index": (
        _sse(_tool_delta(index=[0]), FINISH, DONE),
        errors.MalformedResponseError,
        "index",
    ),
    "numeric-tool-id": (
        _sse(_tool_delta(id=12345), FINISH, DONE),
        errors.MalformedResponseError,
        "'id'",
    ),
    "deep-nesting": (_sse(b"data: " + DEEP + b"\n\n", DONE), errors.MalformedResponseError, ""),
    "error-event-mid-stream": (
        _sse(
            CONTENT,
            b'event: error\ndata: {"message": "upstream died"}\n\n',
            chunk_event({"content": " there"}),
            FINISH,
            DONE,
        ),
        errors.StreamInterruptedError,
        "upstream died",
    ),
    "error-event-at-the-end": (
        _sse(CONTENT, b"event: error\ndata: upstream died\n\n"),
        errors.StreamInterruptedError,
        "upstream died",
    ),
    "html-200": (
        _body(200, b"<html><title>Login</title></html>", "text/html"),
        errors.MalformedResponseError,
        "HTML",
    ),
    "json-200": (
        _body(200, b'{"id": "x", "choices": [{"index": 0, "message": {"content": "hi"}}]}'),
        errors.MalformedResponseError,
        "not Server-Sent Events",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED_STREAMS))
@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_malformed_stream_is_a_typed_error(
    server: HostileServer, adapter: Adapter, path: Path, case: str
) -> None:
    """Wrong JSON types, deep nesting, `event: error` frames and non-SSE 200s to a stream:
    a typed error with a short excerpt, never retried, never an untyped crash."""
    script, expected, words = MALFORMED_STREAMS[case]
    server.serve(script)
    out = await run(adapter, _model(adapter, server), path, "hi")
    assert isinstance(out.error, expected), repr(out.error)[:300]
    assert words in str(out.error) and len(str(out.error)) < 600
    assert len(server.requests) == 1


def _completion(message: Any, **extra: Any) -> bytes:
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return json.dumps({"id": "x", "model": "m", "choices": [choice], **extra}).encode()


MALFORMED_BODIES: dict[str, bytes] = {
    "string-message": _completion("oops"),
    "numeric-tool-id": _completion(
        {"tool_calls": [{"id": 7, "type": "function", "function": {"name": "f"}}]}
    ),
    "string-usage": _completion({"content": "hi"}, usage="lots"),
    "deep-nesting": DEEP,
    "html-200": b"<html><title>Login</title></html>",
}


@pytest.mark.parametrize("case", list(MALFORMED_BODIES))
@pytest.mark.parametrize("path", ("sync", "async"))
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_malformed_body_is_a_typed_error(
    server: HostileServer, adapter: Adapter, path: Path, case: str
) -> None:
    """A 200 body of the wrong shape: MalformedResponseError, not retried."""
    server.serve(_body(200, MALFORMED_BODIES[case]))
    out = await run(adapter, _model(adapter, server), path, "hi")
    assert isinstance(out.error, errors.MalformedResponseError), repr(out.error)[:300]
    assert len(str(out.error)) < 600
    assert len(server.requests) == 1


# -- scrubbing --------------------------------------------------------------------------------


def _echo_cases(key: str) -> dict[str, Callable[[Conn], Any]]:
    code = json.dumps({"error": {"message": "denied", "code": key, "type": key}}).encode()
    return {
        "error-code": _body(401, code),
        "request-id": _body(500, b'{"error": {"message": "boom"}}', **{"x-request-id": key}),
        "text-body": _body(500, f"upstream said {key} no".encode(), "text/plain"),
        "body-excerpt": _body(200, f"not json {key} at all".encode(), "text/plain"),
        "sse-excerpt": _sse(CONTENT, f"data: {{broken {key}\n\n".encode(), DONE),
        "error-event": _sse(f"event: error\ndata: bad key {key}\n\n".encode()),
    }


def _leaks(out: Any, events: Any, secrets: list[str]) -> list[str]:
    """Every text a user or an observer could see of the failure."""
    err = out.error
    texts = [str(err), repr(err), "".join(traceback.format_exception(err))]
    texts += [f"{getattr(err, name, '')}" for name in ("message", "code", "type", "request_id")]
    observer = out.observer
    for seen in getattr(observer, "errors", []):  # LangChain on_llm_error
        texts += [str(seen), repr(seen), "".join(traceback.format_exception(seen))]
    if isinstance(observer, LlamaIndexLegacy):
        texts += [repr(end) for end in observer.ends]
    texts += [repr(event) for event in events]  # LlamaIndex instrumentation
    return [secret for secret in secrets for text in texts if secret in text]


@pytest.mark.parametrize("key", [SHORT_KEY, LONG_KEY], ids=["short-key", "long-key"])
@pytest.mark.parametrize("case", list(_echo_cases("k")))
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_an_echoed_key_reaches_no_error_and_no_observer(
    adapter: Adapter, path: Path, case: str, key: str
) -> None:
    """The gateway echoes the key (any length) in error.code/type, x-request-id, a text
    body, a non-JSON 200, a stream excerpt or an error event: no message, traceback,
    LangChain on_llm_error or LlamaIndex event carries it."""
    with hostile_server(api_key=key) as server:
        server.serve(_echo_cases(key)[case])
        llm = _model(adapter, server, max_retries=0)
        with llamaindex_events() as log:
            out = await run(adapter, llm, path, "hi")
    assert isinstance(out.error, errors.GatewayError), repr(out.error)[:300]
    assert _leaks(out, log.events, [key]) == []


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_key_cut_short_at_the_edge_of_an_error_body_is_scrubbed(
    adapter: Adapter, path: Path
) -> None:
    """An error body cut at max_error_body_bytes in the middle of an echoed key: the
    key's first characters are scrubbed too."""
    body = b"E" * 30 + LONG_KEY.encode() + b" and more"
    with hostile_server(api_key=LONG_KEY) as server:
        server.serve(_body(500, body, "text/plain"))
        llm = _model(adapter, server, max_retries=0)
        change_settings(adapter, llm, max_error_body_bytes=45)
        with llamaindex_events() as log:
            out = await run(adapter, llm, path, "hi")
    assert isinstance(out.error, errors.ServerError), repr(out.error)[:300]
    assert "EEEE" in str(out.error)  # the bounded prefix made the message
    assert _leaks(out, log.events, [LONG_KEY[:6], LONG_KEY[-6:]]) == []


# -- refused locally --------------------------------------------------------------------------

BAD_TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "objekt"}},
}


async def _llamaindex_call(llm: Any, path: Path, **kwargs: Any) -> BaseException | None:
    messages = [ChatMessage(role=MessageRole.USER, content="hi")]
    try:
        if path == "sync":
            llm.chat(messages, **kwargs)
        elif path == "async":
            await llm.achat(messages, **kwargs)
        elif path == "stream":
            for _ in llm.stream_chat(messages, **kwargs):
                pass
        else:
            async for _ in await llm.astream_chat(messages, **kwargs):
                pass
    except Exception as exc:
        return exc
    return None


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_an_invalid_tool_schema_is_refused_before_any_request(
    server: HostileServer, adapter: Adapter, path: Path
) -> None:
    """`"type": "objekt"` is not JSON Schema: ParameterError naming the tool, no request
    (LangChain's bind(tools=...) and LlamaIndex's chat(tools=...) included)."""
    server.serve(_sse(CONTENT, FINISH, DONE))
    llm = _model(adapter, server)
    if adapter == "langchain":
        with pytest.raises(errors.ParameterError, match="lookup"):
            llm.bind_tools([BAD_TOOL])
        error = (await run(adapter, llm.bind(tools=[BAD_TOOL]), path, "hi")).error
    else:
        error = await _llamaindex_call(llm, path, tools=[BAD_TOOL])
    assert isinstance(error, errors.ParameterError), repr(error)
    assert "lookup" in str(error) and "JSON Schema" in str(error)
    assert server.requests == []


@pytest.mark.parametrize("override", [{"stream": False}, {"model": "x"}, {"messages": []}], ids=str)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_extra_body_may_not_override_the_fields_the_library_owns(
    server: HostileServer, adapter: Adapter, path: Path, override: dict[str, Any]
) -> None:
    """extra_body={"stream": False} (or model, messages): a clear error before any
    request, instead of failing requests."""
    server.serve(_sse(CONTENT, FINISH, DONE))
    if adapter == "langchain":
        llm = _model(adapter, server, extra_body=override)
    else:
        llm = _model(adapter, server, additional_kwargs={"extra_body": override})
    out = await run(adapter, llm, path, "hi")
    assert isinstance(out.error, errors.ParameterError), repr(out.error)
    assert next(iter(override)) in str(out.error)
    assert server.requests == []


@pytest.mark.parametrize("case", list(MALFORMED_STREAMS))
def test_gw_chat_stream_prints_one_line_for_a_malformed_stream(
    server: HostileServer,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`gw chat --stream` against each malformed stream: exit 1 and one line on stderr,
    no traceback."""
    from gw_cli.main import main

    server.serve(MALFORMED_STREAMS[case][0])
    monkeypatch.setenv("GW_API_KEY", server.api_key)
    monkeypatch.setenv("GW_BASE_URL", server.base_url)
    code = main(["chat", "hi", "--stream", "--model", MODEL])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("gw chat: "), err
    assert "Traceback" not in err[0] and server.api_key not in err[0]
