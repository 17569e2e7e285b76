"""Both adapters give the same answer for the same input (the core decides, once), take
the same parameters from the core's one list, and live the same life: copies rebuild
their route, constructor errors never show the key, the user's HTTP clients are used,
and a model moves between processes."""

from __future__ import annotations

import base64
import copy
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, VideoBlock
from llama_index.core.llms.function_calling import FunctionCallingLLM

from gw_core.client import httpx_module
from gw_core.config import PARAM_FIELDS
from gw_core.errors import CapabilityError, GatewayInputError, ParameterError
from gw_emulator import GatewayEmulator, ScriptedReply
from langchain_gw import ChatGateway
from llamaindex_gw import GatewayLLM
from tests.conftest import CANARY_KEY as CANARY
from tests.reliability.secrets_check import find_key, texts_of_error

ROOT = Path(__file__).resolve().parent.parent
LOCAL = "http://127.0.0.1:9"  # never called: these tests fail or pass before any request
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20
VIDEOS = {
    "inline": (
        {"type": "video", "base64": base64.b64encode(MP4).decode(), "mime_type": "video/mp4"},
        VideoBlock(video=MP4, video_mimetype="video/mp4"),
    ),
    "url-without-a-video-suffix": (
        {"type": "video", "url": "https://example.com/watch?v=42", "mime_type": "video/mp4"},
        VideoBlock(url="https://example.com/watch?v=42", video_mimetype="video/mp4"),
    ),
}


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gpt-5.4"])
@pytest.mark.parametrize("video", list(VIDEOS), ids=list(VIDEOS))
def test_video_to_a_non_gemini_model_is_the_same_error_before_any_request(
    model: str, video: str, gateway_emulator: GatewayEmulator
) -> None:
    lc_block, li_block = VIDEOS[video]
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    with pytest.raises(CapabilityError) as from_langchain:
        ChatGateway(model=model, **where).invoke(
            [HumanMessage(content=[{"type": "text", "text": "what happens?"}, lc_block])]
        )
    message = ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="what happens?"), li_block])
    with pytest.raises(CapabilityError) as from_llamaindex:
        GatewayLLM(model=model, **where).chat([message])
    assert type(from_langchain.value) is type(from_llamaindex.value)
    assert str(from_langchain.value) == str(from_llamaindex.value)
    assert f"{model} cannot take video" in str(from_langchain.value)
    assert gateway_emulator.requests == []


def test_both_adapters_report_usage_in_the_cores_one_spelling(
    gateway_emulator: GatewayEmulator,
) -> None:
    usage = {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    gateway_emulator.script(ScriptedReply(content="ok", usage=usage))
    gateway_emulator.script(ScriptedReply(content="ok", usage=usage))
    result = ChatGateway(model="gpt-5.4", **where).generate([[HumanMessage(content="hi")]])
    response = GatewayLLM(model="gpt-5.4", **where).chat(
        [ChatMessage(role=MessageRole.USER, content="hi")]
    )
    assert result.llm_output is not None
    assert result.llm_output["token_usage"] == usage
    assert isinstance(response.raw, dict)
    assert response.raw["usage"] == usage


def test_no_adapter_module_assembles_streams_or_spells_usage_itself() -> None:
    """Stream assembly and usage dicts live in gw_core.wire, once."""
    for package in ("langchain_gw", "llamaindex_gw"):
        for path in (ROOT / package).glob("*.py"):
            source = path.read_text()
            for core_only in ('"prompt_tokens"', "new_tool_call_id", "merge_extra_content"):
                assert core_only not in source, (path.name, core_only)


@pytest.mark.parametrize(
    ("arguments", "sent"),
    [
        ({"max_tokens": 10}, 10),
        ({"max_completion_tokens": 20}, 20),
        ({"max_tokens": 15, "max_completion_tokens": 15}, 15),
    ],
)
def test_both_constructors_take_either_spelling_of_the_output_limit(
    arguments: dict[str, int], sent: int, gateway_emulator: GatewayEmulator
) -> None:
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    ChatGateway(model="gpt-5.4", **where, **arguments).invoke("Hi")
    GatewayLLM(model="gpt-5.4", **where, **arguments).complete("Hi")
    bodies = [request.body for request in gateway_emulator.requests]
    assert [body["max_completion_tokens"] for body in bodies] == [sent, sent]
    assert all("max_tokens" not in body for body in bodies)


def test_both_constructors_refuse_two_output_limits_that_disagree_alike() -> None:
    arguments = {
        "api_key": "k-test",
        "base_url": LOCAL,
        "max_tokens": 10,
        "max_completion_tokens": 20,
    }
    with pytest.raises(ParameterError) as from_langchain:
        ChatGateway(model="gpt-5.4", **arguments)
    with pytest.raises(ParameterError) as from_llamaindex:
        GatewayLLM(model="gpt-5.4", **arguments)
    assert str(from_langchain.value) == str(from_llamaindex.value)
    assert "set only one of them" in str(from_langchain.value)


@pytest.mark.parametrize(
    ("name", "value", "attribute"),
    [
        ("max_response_bytes", 4096, 4096),
        ("max_error_body_bytes", 512, 512),
        ("max_event_bytes", 2048, 2048),
        ("max_stream_bytes", 8192, 8192),
        ("stream_timeout", 30, 30.0),
        ("async_http", "sdk", "sdk"),
    ],
)
def test_both_adapters_carry_the_caps_and_deadlines_into_their_settings(
    name: str, value: object, attribute: object
) -> None:
    for model in (
        ChatGateway(model="gpt-5.4", api_key="k-test", base_url=LOCAL, **{name: value}),
        GatewayLLM(model="gpt-5.4", api_key="k-test", base_url=LOCAL, **{name: value}),
    ):
        assert getattr(model.gateway.settings, name) == attribute


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_response_bytes", 0), ("max_stream_bytes", -1), ("stream_timeout", 0)],
)
def test_both_adapters_refuse_a_cap_that_is_not_positive_alike(name: str, value: int) -> None:
    with pytest.raises(GatewayInputError) as from_langchain:
        ChatGateway(model="gpt-5.4", api_key="k-test", base_url=LOCAL, **{name: value})
    with pytest.raises(GatewayInputError) as from_llamaindex:
        GatewayLLM(model="gpt-5.4", api_key="k-test", base_url=LOCAL, **{name: value})
    assert str(from_langchain.value) == str(from_llamaindex.value)
    assert name in str(from_langchain.value)


# -- one list of request parameters, read by both ------------------------------------------

#: What each adapter's own fields are beyond the core's parameters and route fields: a
#: field added to one adapter without a place here (or in gw_core.config) fails below.
ADAPTER_ONLY_FIELDS: dict[type[Any], tuple[type[Any], set[str]]] = {
    ChatGateway: (BaseChatModel, {"extra_body", "model_kwargs", "streaming"}),
    GatewayLLM: (
        FunctionCallingLLM,
        {
            "additional_kwargs",
            "context_window",
            "extra_body",
            "limiter",
            "logprobs",
            "num_output",
            "parallel_tool_calls",
            "strict",
            "top_logprobs",
        },
    ),
}


@pytest.mark.parametrize("adapter", list(ADAPTER_ONLY_FIELDS), ids=lambda cls: cls.__name__)
def test_each_adapter_has_every_core_parameter_and_no_field_unaccounted_for(
    adapter: type[ChatGateway] | type[GatewayLLM],
) -> None:
    framework, own_extras = ADAPTER_ONLY_FIELDS[adapter]
    own = set(adapter.model_fields) - set(framework.model_fields)
    assert set(PARAM_FIELDS) <= own, "an adapter lacks a field the core forwards"
    assert own - set(PARAM_FIELDS) - adapter.route_fields == own_extras


#: A value for every core parameter (the test fails when the core list grows until a value
#: is added here); gpt-5.4 with the rule checks off takes them all together.
PARAM_VALUES: dict[str, Any] = {
    "temperature": 0.5,
    "top_p": 0.9,
    "max_completion_tokens": 33,
    "stop": ["THE END"],
    "reasoning_effort": "low",
    "seed": 7,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.2,
}


def test_both_adapters_send_every_core_parameter_the_same_way(
    gateway_emulator: GatewayEmulator,
) -> None:
    assert set(PARAM_VALUES) == set(PARAM_FIELDS)
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    same = {"model": "gpt-5.4", "check_model_rules": False, **where, **PARAM_VALUES}
    ChatGateway(**same, model_kwargs={"logprobs": True, "top_logprobs": 2}).invoke("Hi")
    GatewayLLM(**same, logprobs=True, top_logprobs=2).complete("Hi")
    from_langchain, from_llamaindex = (request.body for request in gateway_emulator.requests)
    assert from_langchain == from_llamaindex
    assert {key: from_langchain[key] for key in PARAM_VALUES} == PARAM_VALUES
    assert (from_langchain["logprobs"], from_langchain["top_logprobs"]) == (True, 2)


def _outcome(send: Any, emulator: GatewayEmulator) -> tuple[str, Any]:
    """What one call did: the body it sent, or the error it raised before sending."""
    before = len(emulator.requests)
    try:
        send()
    except Exception as exc:
        assert len(emulator.requests) == before, "a refused parameter went out"
        return type(exc).__name__, str(exc)
    return "sent", emulator.requests[-1].body


#: Each core parameter alone, and sets the model rules refuse on some models.
RULE_CASES = [
    *({name: value} for name, value in PARAM_VALUES.items()),
    {"temperature": 0.5, "top_p": 0.9},
    {"temperature": 3.5},
]


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-sonnet-4-6", "claude-opus-4-7-fd"])
def test_with_the_model_rules_on_both_adapters_send_or_refuse_each_parameter_alike(
    gateway_emulator: GatewayEmulator, model: str
) -> None:
    where = {"model": model, "api_key": gateway_emulator.api_key}
    where["base_url"] = gateway_emulator.base_url
    refused = 0
    for case in RULE_CASES:
        chat, llm = ChatGateway(**where, **case), GatewayLLM(**where, **case)
        from_langchain = _outcome(partial(chat.invoke, "Hi"), gateway_emulator)
        from_llamaindex = _outcome(partial(llm.complete, "Hi"), gateway_emulator)
        assert from_langchain == from_llamaindex, case
        refused += from_langchain[0] != "sent"
    assert refused >= 1  # the refusing path was compared too (temperature 3.5 at least)


def test_neither_adapter_sends_a_parameter_it_was_not_given(
    gateway_emulator: GatewayEmulator,
) -> None:
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    ChatGateway(model="gpt-5.4", **where).invoke("Hi")
    GatewayLLM(model="gpt-5.4", **where).complete("Hi")
    for request in gateway_emulator.requests:
        assert set(request.body) & set(PARAM_FIELDS) == set()


# -- the same lifecycle: copies, constructor errors, HTTP clients, processes ------------------

Adapter = ChatGateway | GatewayLLM


@pytest.fixture(params=[ChatGateway, GatewayLLM], ids=["langchain", "llamaindex"])
def adapter(request: pytest.FixtureRequest) -> type[Adapter]:
    cls: type[Adapter] = request.param
    return cls


def build(adapter: type[Adapter], **kwargs: Any) -> Adapter:
    """A model that is never called unless given a live base_url."""
    kwargs.setdefault("model", "gpt-5.4")
    kwargs.setdefault("api_key", CANARY)
    kwargs.setdefault("base_url", LOCAL)
    return adapter(**kwargs)


def ask(llm: Adapter, prompt: str) -> str:
    """One non-streaming answer through either adapter (module level: a worker unpickles it)."""
    import os

    assert "GW_API_KEY" not in os.environ  # in a worker: the key came with the model
    if isinstance(llm, ChatGateway):
        return str(llm.invoke(prompt).content)
    return llm.complete(prompt).text


async def astream_text(llm: Adapter, prompt: str) -> str:
    if isinstance(llm, ChatGateway):
        return "".join([str(chunk.content) async for chunk in llm.astream(prompt)])
    return "".join([part.delta or "" async for part in await llm.astream_complete(prompt)])


def test_model_copy_with_changed_fields_rebuilds_the_route(adapter: type[Adapter]) -> None:
    llm = build(adapter)
    changed = llm.model_copy(update={"max_retries": 0, "timeout": 5, "pools": ["hc"]})
    route = changed.gateway
    assert (route.policy.max_retries, route.settings.timeout, route.pools) == (0, 5, ("hc",))
    assert route.settings.secret() == CANARY
    original = llm.gateway  # the original keeps its own
    assert (original.policy.max_retries, original.settings.timeout, original.pools) == (
        2,
        600,
        (),
    )


def test_a_bad_value_in_model_copy_fails_at_the_copy(adapter: type[Adapter]) -> None:
    with pytest.raises(ValueError, match="unknown pool 'gold'"):
        build(adapter).model_copy(update={"pools": ["gold"]})


def test_assigning_a_field_rebuilds_the_route_and_a_bad_value_is_refused(
    adapter: type[Adapter],
) -> None:
    llm = build(adapter)
    llm.timeout = 7
    llm.base_url = "http://127.0.0.1:10/v1"
    assert llm.gateway.settings.timeout == 7
    assert llm.gateway.settings.base_url == "http://127.0.0.1:10"
    with pytest.raises(ValueError, match="positive number"):
        llm.timeout = -1
    assert llm.timeout == 7 and llm.gateway.settings.timeout == 7


def test_plain_copies_share_the_route_of_their_unchanged_configuration(
    adapter: type[Adapter],
) -> None:
    llm = build(adapter)
    assert copy.copy(llm).gateway is llm.gateway
    assert copy.deepcopy(llm).gateway is llm.gateway
    assert llm.model_copy().gateway is llm.gateway


def test_model_copy_validates_its_updates_and_keeps_a_new_key_secret(
    adapter: type[Adapter],
) -> None:
    copied = build(adapter).model_copy(update={"api_key": "sk-replaced-key-0002", "seed": 5})
    assert copied.gateway.settings.secret() == "sk-replaced-key-0002"
    assert (
        copied.api_key is not None and copied.api_key.get_secret_value() == "sk-replaced-key-0002"
    )
    assert "sk-replaced-key-0002" not in repr(copied) and copied.seed == 5
    with pytest.raises(ValueError, match="temperature") as caught:
        build(adapter).model_copy(update={"temperature": CANARY})
    assert find_key(texts_of_error(caught.value)) == []


#: Arguments both constructors refuse; each adapter's own cases are in its lifecycle tests.
BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"model": 123},
    {"model": ""},
    {"model": CANARY},  # the key passed where the model goes
    {"apikey": CANARY},  # unknown argument whose value is the key
    {"temprature": CANARY},
    {"api_key": 12345},
    {"api_key": CANARY.encode()},  # the key as bytes: refused, not decoded into a key
    {"base_url": "ftp://example.com"},
    {"base_url": CANARY},  # the key passed where the URL goes
    {"base_url": f"http://user:{CANARY}@example.com"},
    {"base_url": f"http://example.com/?key={CANARY}"},
    {"timeout": -1},
    {"timeout": "soon"},
    {"stream_chunk_timeout": 0},
    {"max_retries": -1},
    {"max_retries": "many"},
    {"temperature": "hot"},
    {"pools": ["gold"]},
    {"pools": "hc"},
    {"default_headers": {"Authorization": f"Bearer {CANARY}"}},
    {"http_client": object()},
    {"http_async_client": "a client"},
]


@pytest.mark.parametrize("bad", BAD_ARGUMENTS, ids=lambda bad: ",".join(bad))
def test_no_constructor_error_shows_the_key(adapter: type[Adapter], bad: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)) as caught:
        build(adapter, **bad)
    assert find_key(texts_of_error(caught.value)) == []


def test_a_user_http_client_is_used_with_our_rules(
    adapter: type[Adapter], gateway_emulator: GatewayEmulator
) -> None:
    seen: list[str] = []
    client = httpx_module().Client(
        event_hooks={"request": [lambda request: seen.append(request.url.path)]}
    )
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    llm = build(adapter, **where, http_client=client)
    assert "Say hello back." in ask(llm, "Say hello back.")
    assert seen == ["/v1/chat/completions"]
    assert llm.gateway.clients.sync()._client is client
    assert llm.gateway.clients.sync().max_retries == 0  # retries stay ours


async def test_a_user_async_client_is_used(
    adapter: type[Adapter], gateway_emulator: GatewayEmulator
) -> None:
    seen: list[str] = []

    async def record(request: Any) -> None:
        seen.append(request.url.path)

    client = httpx_module().AsyncClient(event_hooks={"request": [record]})
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    llm = build(adapter, **where, http_async_client=client)
    assert "hello" in await astream_text(llm, "Say hello back.")
    assert seen == ["/v1/chat/completions"]
    await client.aclose()


def test_a_client_of_the_wrong_kind_names_the_right_one(adapter: type[Adapter]) -> None:
    httpx = httpx_module()
    with pytest.raises(ValueError, match=f"http_client must be a {httpx.__name__}.Client"):
        build(adapter, http_client=httpx.AsyncClient())
    with pytest.raises(ValueError, match=f"{httpx.__name__}.AsyncClient"):
        build(adapter, http_async_client=httpx.Client())


def test_a_pickled_model_works_in_a_spawned_process_without_gw_api_key(
    adapter: type[Adapter], gateway_emulator: GatewayEmulator
) -> None:
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    llm = build(adapter, **where)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        answer = pool.submit(ask, llm, "Say worker-ok back.").result(timeout=240)
    assert "worker-ok" in answer


def test_a_model_with_a_user_http_client_refuses_to_pickle_clearly(
    adapter: type[Adapter],
) -> None:
    with pytest.raises(TypeError, match="receiving process its own client"):
        pickle.dumps(build(adapter, http_client=httpx_module().Client()))
