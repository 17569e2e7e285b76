"""``ChatGateway``: a LangChain chat model for every model behind the gateway.

Framework translation only. Request shaping, family rules, content checks, retries, pool
failover and stream assembly live in :mod:`gw_core`; this module maps LangChain's calls,
messages, tools and callbacks onto them (see ``_convert``, ``_content``, ``_structured``).
"""

from __future__ import annotations

import difflib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, secret_from_env
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from gw_core.catalog import Family, ModelSpec, parse
from gw_core.config import (
    PARAM_FIELDS,
    QUIET_ERRORS,
    ClientConfig,
    RouteOwner,
    as_secret,
    validated,
)
from gw_core.errors import GatewayInputError
from gw_core.tokens import count_tokens
from gw_core.transport import Completion
from gw_core.wire import Usage, prepare
from gw_core.wire.prepare import fold_max_tokens
from gw_core.wire.tools import normalize_tool_choice, validate_tools
from langchain_gw import _blocks
from langchain_gw._callbacks import areport_retries, report_retries, reporting_retries
from langchain_gw._convert import (
    PROVIDER,
    final_chunk,
    to_ai_message,
    to_chunk,
    to_wire_messages,
)
from langchain_gw._errors import translated
from langchain_gw._identity import count_message_tokens, model_profile, token_ids
from langchain_gw._structured import build_structured

__all__ = ["ChatGateway"]

_blocks.register(PROVIDER)

# Call-time kwargs that steer the call rather than go into the request body.
_CONTROL_KWARGS = ("ls_structured_output_format", "structured_output_format", "stream")


class ChatGateway(RouteOwner, BaseChatModel):
    """Chat model for the gateway: GPT, Claude and Gemini behind one endpoint.

    Setup: ``pip install "gw-integrations[langchain]"``; set ``GW_API_KEY`` (and
    ``GW_BASE_URL`` if not the documented gateway), or pass ``api_key``/``base_url``.

    ```python
    from langchain_gw import ChatGateway

    llm = ChatGateway(model="claude-sonnet-4-6", temperature=0.2)
    llm.invoke("Name three uses of a paperclip.")
    ```

    Parameters left unset are not sent (the upstream's default applies). Family rules
    the upstreams enforce (Claude temperature <= 1, no temperature with top_p on Claude
    4.5+, none at all on Opus 4.7, ...) are checked before any request;
    ``check_model_rules=False`` sends the values as given. ``pools=["hc", "official"]``
    fails over to the next account pool on a retryable error before the first token;
    ``response_metadata["pool"]`` says which answered.

    Messages: reasoning arrives in ``additional_kwargs["reasoning_content"]`` (and as a
    ``reasoning`` content block); Gemini 3 thought signatures are kept in
    ``additional_kwargs["tool_call_extra_content"]`` and sent back with their tool calls,
    so keep the ``AIMessage`` as returned. Images in a ``ToolMessage`` travel in a user
    message right after the tool results (OpenAI-format tool messages take text only).
    Video blocks go to Gemini models only; anything that cannot be sent raises a
    ``ValueError`` before any request.
    """

    model_config = ConfigDict(**QUIET_ERRORS, populate_by_name=True, protected_namespaces=())

    model: str = Field(alias="model_name")
    """Gateway model id, pool suffix included (``gpt-5.4``, ``claude-opus-4-7-hc``, ...)."""
    api_key: SecretStr | None = Field(default_factory=secret_from_env("GW_API_KEY", default=None))
    """The gateway key; defaults to ``GW_API_KEY``. Never shown in repr, logs or dumps."""
    base_url: str | None = Field(
        default_factory=from_env("GW_BASE_URL", default=None), alias="api_base"
    )
    """Gateway base URL (with or without ``/v1``); defaults to ``GW_BASE_URL``, then the
    documented gateway."""
    temperature: float | None = None
    top_p: float | None = None
    max_completion_tokens: int | None = Field(default=None, alias="max_tokens")
    """Output token limit; sent as ``max_completion_tokens`` (GPT-5.x refuses the other)."""
    stop: list[str] | str | None = Field(default=None, alias="stop_sequences")
    reasoning_effort: str | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    timeout: float | None = None
    """Seconds for a whole non-streaming response (``GW_TIMEOUT``, else 600)."""
    stream_chunk_timeout: float | None = None
    """Longest silence tolerated inside a stream, in seconds (default 120)."""
    stream_timeout: float | None = None
    """Optional deadline for a whole stream, in seconds (default: none)."""
    max_response_bytes: int | None = None
    """Cap on a non-streaming body (default 64 MiB); over it: ``ResponseTooLargeError``."""
    max_error_body_bytes: int | None = None
    """How much of an error body is read for its message (default 64 KiB)."""
    max_event_bytes: int | None = None
    """Cap on one stream event (default 16 MiB)."""
    max_stream_bytes: int | None = None
    """Cap on a whole stream (default 256 MiB)."""
    async_http: Literal["aiohttp", "sdk"] | None = None
    """Async HTTP library: aiohttp (default) or the SDK's httpx; else ``GW_ASYNC_HTTP``."""
    max_retries: int = 2
    """Retries after the first attempt (0 disables them); one loop, never multiplied."""
    streaming: bool = False
    """Make ``invoke`` stream under the hood (callbacks then see every token)."""
    stream_usage: bool = True
    """Ask for usage on streams (``stream_options.include_usage``)."""
    pools: list[str] | None = None
    """Account pools to fail over across, in order (e.g. ``["hc", "official"]``)."""
    default_headers: dict[str, str] | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other request fields, sent as given (e.g. ``{"logprobs": True}``)."""
    extra_body: dict[str, Any] | None = None
    """Fields merged into the JSON body last, unchecked (gateway-specific extensions)."""
    check_model_rules: bool = True
    """Check the upstreams' parameter rules before sending; False sends values as given."""
    allow_undocumented_parts: bool = False
    """Send PDF (``file``) and audio parts, which the gateway does not document."""
    http_client: Any | None = Field(default=None, exclude=True)
    """Your own sync HTTP client (``httpx.Client`` on openai 2.x, ``httpx2.Client`` on
    3.x): proxies, CA bundles, mTLS, hooks. Retries, errors and streams stay ours."""
    http_async_client: Any | None = Field(default=None, exclude=True)
    """Your own async HTTP client (``httpx.AsyncClient`` / ``httpx2.AsyncClient``)."""

    _config: ClientConfig | None = PrivateAttr(default=None)

    def __init__(self, **kwargs: Any) -> None:
        """Validate fields, then build the client configuration and its route.

        Done outside pydantic validation on purpose: a ValueError raised inside a
        validator becomes a ValidationError whose text repeats every input value, the
        API key included.
        """
        _refuse_unknown(type(self), kwargs)
        kwargs = fold_max_tokens(kwargs)
        validated(super().__init__, **kwargs)
        self._check_model_kwargs()
        self._config = self._build_config()

    # -- setup ---------------------------------------------------------------------------

    @field_validator("api_key", mode="before")
    @classmethod
    def _text_key(cls, value: object) -> SecretStr | None:
        return as_secret(value)

    def _check_model_kwargs(self) -> None:
        names = _field_names(type(self))
        shadowing = sorted(set(self.model_kwargs) & names)
        if shadowing:
            raise GatewayInputError(
                f"pass {', '.join(shadowing)} as ChatGateway argument(s), not in model_kwargs"
            )
        reserved = sorted(set(self.model_kwargs) & {"messages", "stream"})
        if reserved:
            raise GatewayInputError(f"model_kwargs may not set {', '.join(reserved)}")

    def _resolve_model_profile(self) -> ModelProfile | None:
        return model_profile(self.model)

    # -- identity ------------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "gw-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "GW_API_KEY"}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_gw", "chat_models"]

    @property
    def _default_params(self) -> dict[str, Any]:
        """The request parameters this instance sends (only the ones set)."""
        params = {key: getattr(self, key) for key in PARAM_FIELDS}
        params = {key: value for key, value in params.items() if value is not None}
        return {**self.model_kwargs, **params}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_url": self.gateway.settings.base_url,
            "pools": self.pools,
            **self._default_params,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=str(kwargs.get("model") or self.model),
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if isinstance(temperature, (int, float)):
            params["ls_temperature"] = float(temperature)
        limit = kwargs.get("max_completion_tokens", kwargs.get("max_tokens"))
        limit = self.max_completion_tokens if limit is None else limit
        if isinstance(limit, int):
            params["ls_max_tokens"] = limit
        stops = stop if stop is not None else kwargs.get("stop", self.stop)
        if stops:
            params["ls_stop"] = [stops] if isinstance(stops, str) else list(stops)
        return params

    def get_token_ids(self, text: str) -> list[int]:
        """Offline token ids (see :func:`langchain_gw._identity.token_ids`)."""
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        return token_ids(text)

    def get_num_tokens(self, text: str) -> int:
        """Offline, deterministic token count (:mod:`gw_core.tokens`); no downloads."""
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return count_tokens(text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Offline estimate of the prompt tokens of ``messages`` (and ``tools``)."""
        return count_message_tokens(messages, tools)

    # -- request shaping -----------------------------------------------------------------

    def _prepare(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool,
    ) -> tuple[dict[str, Any], ModelSpec]:
        """The request body and model spec of one call; every check happens in the core."""
        spec = parse(kwargs.pop("model", None) or self.model)
        stream_usage = kwargs.pop("stream_usage", None)
        for key in _CONTROL_KWARGS:
            kwargs.pop(key, None)
        fields = {key: getattr(self, key) for key in PARAM_FIELDS}
        body = prepare(
            spec,
            to_wire_messages(messages, spec),
            fields,
            self.model_kwargs,
            {"extra_body": self.extra_body},
            kwargs,
            {"stop": stop},
            stream=stream,
            stream_usage=self.stream_usage if stream_usage is None else bool(stream_usage),
            check_model_rules=self.check_model_rules,
            allow_undocumented_parts=self.allow_undocumented_parts,
        )
        return body, spec

    # -- calls ---------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with translated():
            body, spec = self._prepare(messages, stop, kwargs, stream=False)
            with reporting_retries(run_manager):
                completion = self.gateway.complete(body, spec)
        return _chat_result(completion)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with translated():
            body, spec = self._prepare(messages, stop, kwargs, stream=False)
            with reporting_retries(run_manager):
                completion = await self.gateway.acomplete(body, spec)
        return _chat_result(completion)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # langchain-core fires on_llm_new_token itself and passes no run_manager here;
        # a caller that passes one gets each chunk reported once, by us.
        with translated():
            body, spec = self._prepare(messages, stop, kwargs, stream=True)
            ids: dict[int, str | None] = {}
            with self.gateway.stream(body, spec) as stream:
                for delta in report_retries(stream, run_manager):
                    message = to_chunk(delta, ids)
                    if message is not None:
                        chunk = ChatGenerationChunk(message=message)
                        if run_manager is not None:
                            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
                chunk = ChatGenerationChunk(message=final_chunk(stream.result(), stream.route, ids))
                if run_manager is not None:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        with translated():
            body, spec = self._prepare(messages, stop, kwargs, stream=True)
            ids: dict[int, str | None] = {}
            async with self.gateway.astream(body, spec) as stream:
                async for delta in areport_retries(stream, run_manager):
                    message = to_chunk(delta, ids)
                    if message is not None:
                        chunk = ChatGenerationChunk(message=message)
                        if run_manager is not None:
                            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
                chunk = ChatGenerationChunk(message=final_chunk(stream.result(), stream.route, ids))
                if run_manager is not None:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    def _combine_llm_outputs(self, llm_outputs: list[dict[str, Any] | None]) -> dict[str, Any]:
        """``generate``'s ``llm_output`` over a batch: the usage of every prompt, added."""
        total: Usage | None = None
        model_name = None
        for output in llm_outputs:
            if not output:
                continue
            model_name = model_name or output.get("model_name")
            usage = Usage.from_dict(output.get("token_usage"))
            if usage is not None:
                total = usage if total is None else total + usage
        combined: dict[str, Any] = {"model_name": model_name}
        if total is not None:
            combined["token_usage"] = total.to_wire()
        return combined

    # -- tools and structured output -----------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (functions, pydantic models, ``BaseTool``\\ s, OpenAI dicts).

        ``tool_choice``: a tool name, ``"auto"``, ``"none"``, ``"any"``/``"required"``
        or ``True`` (call a tool), ``False`` (none). Checked here; that tool names are
        unique (every upstream requires it) is checked when a call is made, before sending.
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        for tool in formatted:
            validate_tools([tool])  # names must be unique too: checked when a request is made
        choice = normalize_tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        include_raw: bool = False,
        method: Literal["json_schema", "function_calling", "json_mode"] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Answers parsed into ``schema`` (pydantic class, TypedDict or JSON schema).

        ``method`` defaults to ``function_calling`` for Claude (the gateway's Claude
        route may ignore ``response_format``) and ``json_schema`` otherwise.
        """
        if kwargs:
            raise ValueError(f"with_structured_output got unsupported arguments: {sorted(kwargs)}")
        if method is None:
            claude = parse(self.model).family is Family.CLAUDE
            method = "function_calling" if claude else "json_schema"
        return build_structured(
            bind=self.bind,
            bind_tools=self.bind_tools,
            schema=schema,
            method=method,
            include_raw=include_raw,
            strict=strict,
        )


def _chat_result(completion: Completion) -> ChatResult:
    """LangChain's result; ``token_usage`` is the core's one usage serialization."""
    message = to_ai_message(completion.result, completion.route)
    usage = completion.result.usage
    llm_output: dict[str, Any] = {"model_name": message.response_metadata.get("model_name")}
    if usage is not None:
        llm_output["token_usage"] = usage.to_wire()
    return ChatResult(generations=[ChatGeneration(message=message)], llm_output=llm_output)


def _field_names(cls: type[BaseModel]) -> set[str]:
    names = set(cls.model_fields)
    names.update(f.alias for f in cls.model_fields.values() if f.alias)
    return names


def _refuse_unknown(cls: type[BaseModel], kwargs: Mapping[str, Any]) -> None:
    """A misspelt argument is an error, not silently dropped (pydantic's default)."""
    names = _field_names(cls)
    unknown = sorted(set(kwargs) - names)
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, names, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise GatewayInputError(
        f"{cls.__name__} got unknown argument(s) {', '.join(hints)}; send other request "
        "fields with model_kwargs={...} or extra_body={...}"
    )
