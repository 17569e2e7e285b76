"""The API key never shows: objects, serialization, traces, logs, errors and tracebacks.

A canary key is planted (an emulator that accepts only it) and every place a key could
surface is flattened to text and searched, over real calls on all four paths of both
adapters, faults included.
"""

from __future__ import annotations

import copy
import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.load import dumpd, dumps, loads
from llama_index.core.callbacks.schema import EventPayload

from gw_core.errors import AuthenticationError
from gw_core.retry import RetryPolicy
from gw_core.settings import Settings
from gw_core.transport import Gateway
from gw_emulator import Fault, GatewayEmulator, ScriptedReply
from langchain_gw import ChatGateway
from tests.reliability.drivers import (
    ADAPTERS,
    PATHS,
    Adapter,
    FakeTime,
    LangChainTokens,
    LlamaIndexLegacy,
    build,
    llamaindex_events,
    run,
)
from tests.reliability.secrets_check import (
    CANARY_KEY,
    LOGGERS,
    find_key,
    texts_of_error,
    texts_of_records,
)

ANSWER = "The dam was finished in 1936, after five years of work on the river."


@pytest.fixture(scope="module")
def canary_emu() -> Iterator[GatewayEmulator]:
    """An emulator that accepts only the canary key."""
    with GatewayEmulator(api_key=CANARY_KEY) as emulator:
        yield emulator


@pytest.fixture
def cemu(canary_emu: GatewayEmulator) -> Iterator[GatewayEmulator]:
    canary_emu.reset()
    yield canary_emu
    canary_emu.wait_idle(5.0)
    canary_emu.reset()


def _models(emu: GatewayEmulator, **options: Any) -> dict[Adapter, Any]:
    return {adapter: build(adapter, emu, "gpt-5.4", **options) for adapter in ADAPTERS}


# -- the checks find what they look for ------------------------------------------------------


def test_the_leak_checks_find_a_planted_key() -> None:
    """The searches below would find the key: in a log record's args, an exception's
    chained cause, and its traceback."""
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "headers %s", None, None)
    record.args = ({"authorization": f"Bearer {CANARY_KEY}"},)
    assert find_key(texts_of_records([record]))
    try:
        try:
            raise KeyError(CANARY_KEY)
        except KeyError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert find_key(texts_of_error(outer))


# -- objects and serialization ----------------------------------------------------------------


def test_core_objects_hide_the_key() -> None:
    """Settings, Gateway and RetryPolicy: repr, str, copy and pickle hold no key."""
    settings = Settings.resolve(api_key=CANARY_KEY, base_url="http://127.0.0.1:9")
    gateway = Gateway(settings, policy=RetryPolicy())
    texts = [repr(settings), str(settings), repr(gateway), repr(gateway.policy)]
    texts += [repr(copy.copy(settings)), repr(copy.deepcopy(settings))]
    texts.append(repr(pickle.loads(pickle.dumps(settings))))
    assert find_key(texts) == []
    assert settings.secret() == CANARY_KEY  # the key is there, only never shown


def test_langchain_model_hides_the_key(cemu: GatewayEmulator) -> None:
    """ChatGateway: repr/str, model_dump(_json), dumps/dumpd, copies and the unpickled
    model show no key; the copies and the unpickled model still work with it."""
    llm = build("langchain", cemu, "gpt-5.4")
    clone = pickle.loads(pickle.dumps(llm))
    copies = [copy.copy(llm), copy.deepcopy(llm), llm.model_copy(), clone]
    texts = [repr(llm), str(llm), repr(llm.gateway), repr(llm.model_dump())]
    texts += [llm.model_dump_json(), dumps(llm), repr(dumpd(llm)), dumps(llm, pretty=True)]
    texts += [repr(c) for c in copies]
    texts += [repr(llm._identifying_params), repr(llm._get_ls_params())]
    assert find_key(texts) == []
    assert '"id": ["GW_API_KEY"]' in dumps(llm)
    for model in copies:
        cemu.script(ScriptedReply(content=ANSWER))
        assert model.invoke("When was the dam finished?").content == ANSWER


@pytest.mark.filterwarnings("ignore:The function `loads` is in beta")
def test_langchain_loads_takes_the_key_from_the_secrets_map(cemu: GatewayEmulator) -> None:
    """`dumps` keeps a reference to GW_API_KEY, not the key; `loads` restores the model
    with the key from the secrets map, and the restored model works."""
    text = dumps(build("langchain", cemu, "gpt-5.4"))
    assert CANARY_KEY not in text
    restored = loads(
        text,
        secrets_map={"GW_API_KEY": CANARY_KEY},
        valid_namespaces=["langchain_gw"],
        allowed_objects=[ChatGateway],
    )
    assert CANARY_KEY not in repr(restored)
    cemu.script(ScriptedReply(content=ANSWER))
    assert restored.invoke("When was the dam finished?").content == ANSWER


def test_llamaindex_model_hides_the_key(cemu: GatewayEmulator) -> None:
    """GatewayLLM: repr/str, to_dict/to_json/to_payload, model_dump and copies show no key;
    the copies and the unpickled model (a pickle carries the key, as ChatGateway's does:
    docs/security.md) still work with it."""
    llm = build("llamaindex", cemu, "gpt-5.4")
    clone = pickle.loads(pickle.dumps(llm))
    texts = [repr(llm), str(llm), llm.to_json(), repr(llm.to_dict()), repr(llm.to_payload())]
    texts += [repr(llm.model_dump()), llm.model_dump_json(), repr(llm.api_key)]
    texts += [repr(copy.copy(llm)), repr(copy.deepcopy(llm)), repr(llm.model_copy())]
    texts += [repr(clone), clone.to_json()]
    assert find_key(texts) == []
    for model in (copy.copy(llm), copy.deepcopy(llm), clone):
        cemu.script(ScriptedReply(content=ANSWER))
        assert model.complete("When was the dam finished?").text == ANSWER


# -- traces ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
async def test_langchain_traced_params_hold_no_key(
    path: Any, cemu: GatewayEmulator, fake_time: FakeTime, close_async_clients: None
) -> None:
    """What tracers (LangSmith) receive: the serialized model, invocation_params, metadata
    and ls_* params in on_chat_model_start, on every path."""
    cemu.script(ScriptedReply(content=ANSWER))
    handler = LangChainTokens()
    llm = build("langchain", cemu, "gpt-5.4", policy=fake_time.policy(), temperature=0.3)
    if path == "sync":
        llm.invoke("Hi?", config={"callbacks": [handler]})
    elif path == "async":
        await llm.ainvoke("Hi?", config={"callbacks": [handler]})
    elif path == "stream":
        list(llm.stream("Hi?", config={"callbacks": [handler]}))
    else:
        async for _ in llm.astream("Hi?", config={"callbacks": [handler]}):
            pass
    assert len(handler.starts) == 1
    start = handler.starts[0]
    assert start["invocation_params"]["model"] == "gpt-5.4"  # the params did reach us
    assert start["metadata"]["ls_provider"] == "gw"
    assert find_key([repr(start)]) == []


@pytest.mark.parametrize("path", PATHS)
async def test_llamaindex_instrumentation_holds_no_key(
    path: Any, cemu: GatewayEmulator, fake_time: FakeTime, close_async_clients: None
) -> None:
    """Every instrumentation event (model_dict included) and every legacy callback payload
    (the serialized model included), on every path."""
    cemu.script(ScriptedReply(content=ANSWER))
    llm = build("llamaindex", cemu, "gpt-5.4", policy=fake_time.policy())
    with llamaindex_events() as events:
        out = await run("llamaindex", llm, path, "Hi?")
    assert out.error is None
    legacy = out.observer
    assert isinstance(legacy, LlamaIndexLegacy)
    assert events.events and legacy.starts
    assert EventPayload.SERIALIZED in legacy.starts[0]
    texts = [repr(e) for e in events.events] + [repr(e.model_dump()) for e in events.events]
    texts += [repr(p) for p in legacy.starts + legacy.ends]
    assert find_key(texts) == []


# -- logs and errors over real calls, faults included --------------------------------------

SCENARIOS: dict[str, tuple[tuple[Fault, int], ...]] = {
    "ok": (),
    "429-then-ok": ((Fault.status(429, retry_after=1), 1),),
    "500-every-attempt": ((Fault.status(500), 3),),
    "reset-every-attempt": ((Fault.reset(), 3),),
    "cut-mid-stream": ((Fault.cut(2), 1),),
    "error-event": ((Fault.error_event(2), 1),),
    "malformed": ((Fault.malformed(2), 1),),
    "html-502": ((Fault.html(502), 3),),
}


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture DEBUG from our code and every library on the request path."""
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_no_key_in_debug_logs_errors_or_tracebacks(
    adapter: Adapter,
    scenario: str,
    cemu: GatewayEmulator,
    fake_time: FakeTime,
    debug_logs: pytest.LogCaptureFixture,
    close_async_clients: None,
) -> None:
    """DEBUG logs of gw_core, openai, httpx/httpx2, httpcore, tenacity and the frameworks,
    and every error's message, repr, args, chained causes, traceback and pickle, on all
    four paths: no key."""
    errors: list[BaseException] = []
    for path in PATHS:
        for fault, times in SCENARIOS[scenario]:
            cemu.inject(fault, times=times)
        for _ in range(3):
            cemu.script(ScriptedReply(content=ANSWER))
        llm = build(adapter, cemu, "gpt-5.4", policy=fake_time.policy())
        out = await run(adapter, llm, path, "When was the dam finished?")
        if out.error is not None:
            errors.append(out.error)
        cemu.wait_idle(5.0)
        cemu.reset()
    names = {record.name.split(".")[0] for record in debug_logs.records}
    assert "openai" in names and names & {"httpcore", "httpcore2"}, names  # logs were seen
    assert find_key(texts_of_records(debug_logs.records)) == []
    if scenario not in ("ok", "429-then-ok"):
        assert errors  # the fault did raise somewhere
    for error in errors:
        assert find_key(texts_of_error(error)) == [], type(error).__name__


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_wrong_key_error_holds_no_key(
    adapter: Adapter, emu: GatewayEmulator, fake_time: FakeTime, close_async_clients: None
) -> None:
    """A 401 for a wrong key: the AuthenticationError and its traceback hold no key."""
    llm = build(adapter, emu, "gpt-5.4", policy=fake_time.policy(), api_key=CANARY_KEY)
    for path in PATHS:
        out = await run(adapter, llm, path, "Hi?")
        assert isinstance(out.error, AuthenticationError)
        assert find_key(texts_of_error(out.error)) == []


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_gateway_that_echoes_the_key_does_not_leak_it(
    adapter: Adapter,
    cemu: GatewayEmulator,
    fake_time: FakeTime,
    debug_logs: pytest.LogCaptureFixture,
    close_async_clients: None,
) -> None:
    """A 401 whose message echoes the key back (as some gateways do): the error, its
    traceback and the logs still hold no key."""
    for path in PATHS:
        cemu.inject(Fault.status(401, message=f"Incorrect API key provided: {CANARY_KEY}."))
        llm = build(adapter, cemu, "gpt-5.4", policy=fake_time.policy())
        out = await run(adapter, llm, path, "Hi?")
        assert isinstance(out.error, AuthenticationError), repr(out.error)
        assert "Incorrect API key" in str(out.error)
        assert find_key(texts_of_error(out.error)) == [], path
    assert find_key(texts_of_records(debug_logs.records)) == []
