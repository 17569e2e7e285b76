"""The clients under test, each behind one small driver with the same four operations.

A driver does what a user of that library writes: one non-streaming call that returns the
answer text, one stream read to the end (counting content chunks and timing the first),
and one async call. Every driver is checked once against the server's fixed answer before
it is timed, so a client that silently takes another path (OpenAILike without
``is_chat_model`` calls ``/completions``) cannot produce a flattering figure.

Imports happen inside the builders: a worker process imports only what it measures.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

MODEL = "gpt-5.4"
PROMPT = "Say something about benchmarks."
API_KEY = "sk-bench-not-a-secret"
MESSAGES = [{"role": "user", "content": PROMPT}]


class Driver(Protocol):
    """What the harness times."""

    def call(self) -> str: ...

    def stream(self) -> tuple[float, int]:
        """Read one stream to its end: (seconds to the first content chunk, content chunks)."""
        ...

    async def acall(self) -> str: ...


@dataclass(frozen=True)
class Target:
    """One client library as the benchmark names, imports and drives it."""

    name: str
    label: str
    #: The import a user writes; timed in a fresh interpreter.
    import_stmt: str
    build: Callable[[str], Driver]
    #: Phases this target takes part in ("sync", "stream", "async").
    phases: tuple[str, ...] = ("sync", "stream", "async")
    #: "ours", "peer", "floor" (raw HTTP, the raw SDK) or "reference" (rows that explain a
    #: figure and are not one of the six compared clients).
    role: str = "peer"


def http_name() -> str:
    """The HTTP library under the installed openai SDK: httpx2 on 3.x, httpx on 2.x.

    Chosen from package metadata, so the raw-HTTP rows never import openai itself.
    """
    from importlib.metadata import version

    return "httpx2" if int(version("openai").split(".", 1)[0]) >= 3 else "httpx"


class _Stopwatch:
    """Counts content chunks and stamps the first one."""

    __slots__ = ("chunks", "start", "ttft")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.ttft = 0.0
        self.chunks = 0

    def content(self, text: str | None) -> None:
        if text:
            if not self.chunks:
                self.ttft = time.perf_counter() - self.start
            self.chunks += 1

    def result(self) -> tuple[float, int]:
        return self.ttft, self.chunks


# -- raw HTTP: the floor every client stands on --------------------------------------


class RawHttp:
    """A plain POST with the SDK's own HTTP library, ``json.loads`` and a minimal SSE loop."""

    def __init__(self, base_url: str) -> None:
        self._http = importlib.import_module(http_name())
        self._url = base_url + "/v1/chat/completions"
        self._headers = {"Authorization": f"Bearer {API_KEY}"}
        self._body = {"model": MODEL, "messages": MESSAGES}
        self._stream_body = {
            **self._body,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        self._client = self._http.Client(timeout=60)
        self._aclient: Any = None

    def call(self) -> str:
        response = self._client.post(self._url, json=self._body, headers=self._headers)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])

    def stream(self) -> tuple[float, int]:
        watch = _Stopwatch()
        with self._client.stream(
            "POST", self._url, json=self._stream_body, headers=self._headers
        ) as response:
            # Read to the end of the body (not just to [DONE]): the pool then keeps the
            # connection; stopping at [DONE] makes the next request open a new one.
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:])["choices"]
                if choices:
                    watch.content(choices[0]["delta"].get("content"))
        return watch.result()

    async def acall(self) -> str:
        if self._aclient is None:
            # The same pool limits the openai SDK uses, so the async rows compare like for like.
            limits = self._http.Limits(max_connections=1000, max_keepalive_connections=100)
            self._aclient = self._http.AsyncClient(timeout=60, limits=limits)
        response = await self._aclient.post(self._url, json=self._body, headers=self._headers)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])

    async def aclose(self) -> None:
        if self._aclient is not None:
            await self._aclient.aclose()


# -- the official SDK -------------------------------------------------------------------


class RawOpenAI:
    """``OpenAI().chat.completions.create`` as documented, defaults untouched."""

    def __init__(self, base_url: str) -> None:
        import openai

        self._openai = openai
        self._base = base_url + "/v1"
        # Typed Any: the SDK's overloads want TypedDict messages; these are plain dicts.
        self._client: Any = openai.OpenAI(api_key=API_KEY, base_url=self._base)
        self._aclient: Any = None

    def call(self) -> str:
        completion = self._client.chat.completions.create(model=MODEL, messages=MESSAGES)
        return str(completion.choices[0].message.content or "")

    def stream(self) -> tuple[float, int]:
        watch = _Stopwatch()
        chunks = self._client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in chunks:
            if chunk.choices:
                watch.content(chunk.choices[0].delta.content)
        return watch.result()

    async def acall(self) -> str:
        if self._aclient is None:
            self._aclient = self._openai.AsyncOpenAI(api_key=API_KEY, base_url=self._base)
        completion = await self._aclient.chat.completions.create(model=MODEL, messages=MESSAGES)
        return str(completion.choices[0].message.content or "")

    async def aclose(self) -> None:
        if self._aclient is not None:
            await self._aclient.close()


class RawOpenAIAioHttp(RawOpenAI):
    """``AsyncOpenAI(http_client=DefaultAioHttpClient())``: the SDK's documented fast path,
    the ceiling a client on the SDK can reach (async only; sync calls as above)."""

    async def acall(self) -> str:
        if self._aclient is None:
            http = self._openai.DefaultAioHttpClient()
            self._aclient = self._openai.AsyncOpenAI(
                api_key=API_KEY, base_url=self._base, http_client=http
            )
        return await super().acall()


# -- our transport without a framework (reference: splits adapter cost into layers) ----


class GwCore:
    """``gw_core.transport.Gateway`` driven directly, as both adapters drive it."""

    def __init__(self, base_url: str) -> None:
        from gw_core.catalog import parse
        from gw_core.settings import Settings
        from gw_core.transport import Gateway
        from gw_core.wire.params import build_body

        self._spec = parse(MODEL)
        self._gateway = Gateway(Settings.resolve(api_key=API_KEY, base_url=base_url))
        self._build = build_body

    def call(self) -> str:
        body = self._build(self._spec, list(MESSAGES), {})
        return self._gateway.complete(body, self._spec).result.content

    def stream(self) -> tuple[float, int]:
        watch = _Stopwatch()
        body = self._build(self._spec, list(MESSAGES), {}, stream=True)
        with self._gateway.stream(body, self._spec) as deltas:
            for delta in deltas:
                watch.content(delta.content)
        return watch.result()

    async def acall(self) -> str:
        body = self._build(self._spec, list(MESSAGES), {})
        return (await self._gateway.acomplete(body, self._spec)).result.content


# -- LangChain ------------------------------------------------------------------------


class LangChain:
    """Any LangChain chat model: ``invoke`` / ``stream`` / ``ainvoke`` with a string."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def call(self) -> str:
        return str(self._model.invoke(PROMPT).content)

    def stream(self) -> tuple[float, int]:
        watch = _Stopwatch()
        for chunk in self._model.stream(PROMPT):
            watch.content(chunk.content)
        return watch.result()

    async def acall(self) -> str:
        return str((await self._model.ainvoke(PROMPT)).content)


def _chat_gateway(base_url: str) -> Driver:
    from langchain_gw import ChatGateway

    return LangChain(ChatGateway(model=MODEL, api_key=API_KEY, base_url=base_url))


def _chat_openai(base_url: str) -> Driver:
    from langchain_openai import ChatOpenAI

    # stream_usage=True: ChatGateway reports usage on streams by default; ask the same.
    model = ChatOpenAI(model=MODEL, api_key=API_KEY, base_url=base_url + "/v1", stream_usage=True)  # type: ignore[arg-type]
    return LangChain(model)


# -- LlamaIndex -----------------------------------------------------------------------


class LlamaIndex:
    """Any LlamaIndex LLM: ``chat`` / ``stream_chat`` / ``achat`` with one user message."""

    def __init__(self, llm: Any) -> None:
        from llama_index.core.llms import ChatMessage

        self._llm = llm
        self._messages = [ChatMessage(role="user", content=PROMPT)]

    def call(self) -> str:
        return str(self._llm.chat(self._messages).message.content)

    def stream(self) -> tuple[float, int]:
        watch = _Stopwatch()
        for response in self._llm.stream_chat(self._messages):
            watch.content(response.delta)
        return watch.result()

    async def acall(self) -> str:
        return str((await self._llm.achat(self._messages)).message.content)


def _gateway_llm(base_url: str) -> Driver:
    from llamaindex_gw import GatewayLLM

    return LlamaIndex(GatewayLLM(model=MODEL, api_key=API_KEY, base_url=base_url))


def _openai_like(base_url: str) -> Driver:
    from llama_index.llms.openai_like import OpenAILike

    # is_chat_model=True: without it chat() goes to /completions. The one override a user
    # cannot skip; the others the issue lists do not change the request path.
    llm = OpenAILike(model=MODEL, api_key=API_KEY, api_base=base_url + "/v1", is_chat_model=True)
    return LlamaIndex(llm)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("httpx", "raw HTTP POST (httpx / httpx2)", "", RawHttp, role="floor"),
        Target("openai", "openai client", "import openai", RawOpenAI, role="floor"),
        Target("openai_aiohttp", "openai client on aiohttp", "import openai", RawOpenAIAioHttp,
               phases=("async",), role="reference"),
        Target("gw_core", "gw_core.Gateway alone", "import gw_core.transport", GwCore,
               role="reference"),
        Target("ChatGateway", "ChatGateway", "from langchain_gw import ChatGateway",
               _chat_gateway, role="ours"),
        Target("ChatOpenAI", "ChatOpenAI", "from langchain_openai import ChatOpenAI",
               _chat_openai),
        Target("GatewayLLM", "GatewayLLM", "from llamaindex_gw import GatewayLLM",
               _gateway_llm, role="ours"),
        Target("OpenAILike", "OpenAILike", "from llama_index.llms.openai_like import OpenAILike",
               _openai_like),
    )
}  # fmt: skip


def label(name: str) -> str:
    """How the Markdown names a client: ours in bold, references marked."""
    target = TARGETS.get(name)
    if target is None:
        return name
    if target.role == "ours":
        return f"**{target.label}** (ours)"
    return f"{target.label} (reference)" if target.role == "reference" else target.label


def import_stmt(name: str) -> str:
    """The import statement timed for a target (the raw HTTP one depends on the SDK)."""
    return f"import {http_name()}" if name == "httpx" else TARGETS[name].import_stmt
