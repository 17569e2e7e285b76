"""``GatewayLLM``: a LlamaIndex LLM for every model behind the GW gateway.

Framework translation only. Request shaping, the family rules, retries, pool failover
and stream assembly live in :mod:`gw_core`; this class turns LlamaIndex messages into
wire dicts (:mod:`._messages`), results into ``ChatResponse``s (:mod:`._responses`) and
tools into the gateway's format (:mod:`._tools`), under LlamaIndex's callback
decorators so instrumentation and callback handlers see every call, chunk and error.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import Model, PydanticProgramMode
from pydantic import (
    AliasChoices,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
)

from gw_core import catalog
from gw_core.catalog import ModelSpec
from gw_core.config import (
    PARAM_FIELDS,
    QUIET_ERRORS,
    ROUTE_FIELDS,
    ClientConfig,
    RouteOwner,
    as_secret,
    validated,
)
from gw_core.errors import GatewayInputError
from gw_core.limits import estimate_tokens
from gw_core.retry import RetryPolicy
from gw_core.transport import Gateway
from gw_core.wire import prepare
from gw_core.wire.prepare import fold_max_tokens

from ._messages import to_wire_messages
from ._responses import chat_to_completion, completion_to_chat_response, stream_chunk_response
from ._retry_events import areport_retries, report_retries, reporting_retries
from ._tools import force_single_call, forced_program, tool_selections, tools_request

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = ["DEFAULT_MODEL", "GatewayLLM"]

#: The model used when none is given: the catalog's first id, GPT-5.4 in the standard pool.
DEFAULT_MODEL = "gpt-5.4"

_TOOL_MODES = (PydanticProgramMode.DEFAULT, PydanticProgramMode.FUNCTION)
# Request parameters held in typed fields, sent only when set: ChatGateway's (the core's
# one list), then the ones only GatewayLLM types (ChatGateway takes them in model_kwargs).
_PARAM_FIELDS = (*PARAM_FIELDS, "logprobs", "top_logprobs", "extra_body")


class GatewayLLM(RouteOwner, FunctionCallingLLM):
    """A LlamaIndex LLM for the GW gateway: GPT, Claude and Gemini behind one endpoint.

    ``GatewayLLM(model="claude-sonnet-4-6")`` reads the key from ``GW_API_KEY`` and the
    address from ``GW_BASE_URL`` unless given; a missing key fails here, naming
    ``GW_API_KEY``. The key is not a field, so it is never in ``repr``,
    ``to_dict``/``to_json``, ``to_payload`` or instrumentation events; ``llm.api_key``
    returns it as a ``SecretStr`` (as ``ChatGateway.api_key`` does). A pickle carries it,
    so a model sent to a worker process keeps working (``docs/security.md``).

    Parameters left unset are not sent (no framework default temperature). The family
    rules of the gateway contract are checked before any request; pass
    ``check_model_rules=False`` to send values the rules would refuse.
    """

    model_config = ConfigDict(**QUIET_ERRORS, extra="forbid", arbitrary_types_allowed=True)

    model: str = Field(
        default=DEFAULT_MODEL,
        description="Gateway model id, e.g. gpt-5.4, claude-opus-4-7-hc, gemini-2.5-pro.",
    )
    base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("base_url", "api_base"),
        description="Gateway base URL (alias api_base); default GW_BASE_URL, then the "
        "documented address.",
    )
    temperature: float | None = Field(default=None, description="Not sent when None.")
    top_p: float | None = Field(default=None, description="Not sent when None.")
    max_completion_tokens: int | None = Field(
        default=None,
        validation_alias=AliasChoices("max_completion_tokens", "max_tokens"),
        description="Output token limit (alias max_tokens); not sent when None.",
    )
    stop: str | list[str] | None = Field(default=None, description="Stop sequence(s).")
    reasoning_effort: str | None = Field(
        default=None, description="Reasoning effort (e.g. 'low', 'high'); not sent when None."
    )
    seed: int | None = Field(default=None, description="Sampling seed; not sent when None.")
    presence_penalty: float | None = Field(default=None, description="Not sent when None.")
    frequency_penalty: float | None = Field(default=None, description="Not sent when None.")
    logprobs: bool | None = Field(default=None, description="Return token log probabilities.")
    top_logprobs: int | None = Field(
        default=None, description="Alternatives per token with logprobs."
    )
    parallel_tool_calls: bool | None = Field(
        default=None,
        description="Let the model call several tools at once; sent with tools, when set.",
    )
    strict: bool | None = Field(
        default=None, description="Default strict mode for tool schemas (chat_with_tools)."
    )
    extra_body: dict[str, Any] | None = Field(
        default=None, description="Fields merged into the JSON body last, unchecked."
    )
    timeout: float | None = Field(
        default=None, description="Seconds for a whole non-streaming response."
    )
    stream_chunk_timeout: float | None = Field(
        default=None, description="Longest silence tolerated inside a stream, in seconds."
    )
    stream_timeout: float | None = Field(
        default=None, description="Optional deadline for a whole stream, in seconds."
    )
    max_response_bytes: int | None = Field(
        default=None, description="Cap on a non-streaming body (default 64 MiB)."
    )
    max_error_body_bytes: int | None = Field(
        default=None, description="How much of an error body is read (default 64 KiB)."
    )
    max_event_bytes: int | None = Field(
        default=None, description="Cap on one stream event (default 16 MiB)."
    )
    max_stream_bytes: int | None = Field(
        default=None, description="Cap on a whole stream (default 256 MiB)."
    )
    async_http: Literal["aiohttp", "sdk"] | None = Field(
        default=None, description="Async HTTP library: aiohttp (default) or the SDK's httpx."
    )
    max_retries: int = Field(default=2, ge=0, description="Retries after the first attempt.")
    pools: list[str] | None = Field(
        default=None,
        description="Account pools to fail over across, in order (e.g. ['hc', 'official']).",
    )
    context_window: int | None = Field(
        default=None, gt=0, description="Override of the catalog's context window."
    )
    num_output: int | None = Field(
        default=None, gt=0, description="Override of the output size reported in metadata."
    )
    default_headers: dict[str, str] | None = Field(
        default=None, repr=False, description="Extra HTTP headers sent with every request."
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request body fields, sent on every call."
    )
    stream_usage: bool = Field(default=True, description="Ask for usage on streams.")
    check_model_rules: bool = Field(
        default=True, description="Refuse values the model's upstream is known to reject."
    )
    allow_undocumented_parts: bool = Field(
        default=False,
        description="Send PDF (DocumentBlock) and AudioBlock parts the gateway does not document.",
    )
    retry_policy: Any | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="A gw_core RetryPolicy to use instead of one built from max_retries.",
    )
    # Not LlamaIndex's own ``rate_limiter`` (called with no model and no token count).
    limiter: Any | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="A gw_core.limits.RateLimiter each request waits on, tokens included.",
    )

    http_client: Any | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="Your own sync HTTP client (httpx.Client on openai 2.x, httpx2.Client "
        "on 3.x): proxies, CA bundles, mTLS. Retries, errors and streams stay ours.",
    )
    http_async_client: Any | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="Your own async HTTP client (httpx.AsyncClient / httpx2.AsyncClient).",
    )

    route_fields: ClassVar[frozenset[str]] = ROUTE_FIELDS | {"retry_policy"}
    _config: ClientConfig | None = PrivateAttr(default=None)
    _api_key: SecretStr | None = PrivateAttr(default=None)

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | SecretStr | None = None,
        **kwargs: Any,
    ) -> None:
        explicit_retries = "max_retries" in kwargs
        kwargs = fold_max_tokens(kwargs)
        validated(super().__init__, model=model, **kwargs)
        if isinstance(self.retry_policy, RetryPolicy) and not explicit_retries:
            self.max_retries = self.retry_policy.max_retries
        self._api_key = as_secret(api_key)
        config = self._build_config()
        self.base_url = config.settings.base_url
        self._api_key = config.settings.api_key  # copies and pickles keep the resolved key
        self._config = config

    @field_validator("model")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        catalog.parse(value)  # refuses only empty or non-string ids
        return value

    @field_validator("retry_policy")
    @classmethod
    def _is_policy(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, RetryPolicy):
            raise GatewayInputError(
                f"retry_policy must be a gw_core.retry.RetryPolicy, got {type(value).__name__}"
            )
        return value

    @classmethod
    def class_name(cls) -> str:
        return "GatewayLLM"

    # -- configuration ------------------------------------------------------------------

    @property
    def api_key(self) -> SecretStr | None:
        """The key as a ``SecretStr`` (masked when shown; ``get_secret_value()`` for text)."""
        return self._api_key

    @api_key.setter
    def api_key(self, value: str | SecretStr | None) -> None:
        self._api_key = as_secret(value)

    def _transport(self) -> Gateway:
        """The route every call goes through (rebuilt whenever a field it reads changes)."""
        return self.gateway

    @property
    def metadata(self) -> LLMMetadata:
        """Right for every model with no overrides: the catalog's window and output size."""
        spec = catalog.parse(self.model)
        return LLMMetadata(
            context_window=self.context_window or spec.context_window,
            num_output=self.num_output or self.max_completion_tokens or spec.max_output,
            is_chat_model=True,
            is_function_calling_model=True,
            model_name=self.model,
            system_role=MessageRole.SYSTEM,
        )

    def _request(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any], *, stream: bool
    ) -> tuple[dict[str, Any], ModelSpec]:
        """Convert one request; the core checks and shapes it (every local refusal)."""
        spec = catalog.parse(self.model)
        fields: dict[str, Any] = {name: getattr(self, name) for name in _PARAM_FIELDS}
        if self.parallel_tool_calls is not None and (
            kwargs.get("tools") or self.additional_kwargs.get("tools")
        ):
            fields["parallel_tool_calls"] = self.parallel_tool_calls  # with tool calls only
        body = prepare(
            spec,
            to_wire_messages(messages, spec),
            fields,
            self.additional_kwargs,
            kwargs,
            stream=stream,
            stream_usage=self.stream_usage,
            check_model_rules=self.check_model_rules,
            allow_undocumented_parts=self.allow_undocumented_parts,
        )
        return body, spec

    # -- chat ---------------------------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, **kwargs)

    def _limit(self, body: dict[str, Any], spec: ModelSpec) -> None:
        if self.limiter is not None:
            self.limiter.acquire(spec.id, estimate_tokens(body))

    async def _alimit(self, body: dict[str, Any], spec: ModelSpec) -> None:
        if self.limiter is not None:
            await self.limiter.aacquire(spec.id, estimate_tokens(body))

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        body, spec = self._request(messages, kwargs, stream=False)
        self._limit(body, spec)
        with reporting_retries():
            return completion_to_chat_response(self._transport().complete(body, spec))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, **kwargs)

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        body, spec = self._request(messages, kwargs, stream=False)
        await self._alimit(body, spec)
        with reporting_retries():
            completion = await self._transport().acomplete(body, spec)
        return completion_to_chat_response(completion)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream_chat(messages, **kwargs)

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        # Checked now, so bad input fails at the call; the request goes out on first next().
        body, spec = self._request(messages, kwargs, stream=True)
        stream = self._transport().stream(body, spec)

        def gen() -> Generator[ChatResponse, None, None]:
            self._limit(body, spec)
            with stream:
                for delta in report_retries(stream):
                    yield stream_chunk_response(delta, stream.result(), stream.route)

        return gen()

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return self._astream_chat(messages, **kwargs)

    def _astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        body, spec = self._request(messages, kwargs, stream=True)
        stream = self._transport().astream(body, spec)

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            await self._alimit(body, spec)
            async with stream:
                async for delta in areport_retries(stream):
                    yield stream_chunk_response(delta, stream.result(), stream.route)

        return gen()

    # -- completion (through the chat endpoint: the only one the gateway has) -----------

    @staticmethod
    def _prompt_messages(prompt: str) -> list[ChatMessage]:
        return [ChatMessage(role=MessageRole.USER, content=prompt)]

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion(self._chat(self._prompt_messages(prompt), **kwargs))

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        response = await self._achat(self._prompt_messages(prompt), **kwargs)
        return chat_to_completion(response)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        chunks = self._stream_chat(self._prompt_messages(prompt), **kwargs)

        def gen() -> Generator[CompletionResponse, None, None]:
            with closing(chunks):
                for chunk in chunks:
                    yield chat_to_completion(chunk)

        return gen()

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        chunks = self._astream_chat(self._prompt_messages(prompt), **kwargs)

        async def gen() -> AsyncGenerator[CompletionResponse, None]:
            try:
                async for chunk in chunks:
                    yield chat_to_completion(chunk)
            finally:
                await chunks.aclose()

        return gen()

    # -- tools --------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The ``chat`` arguments for a tool turn: messages, tools and tool_choice."""
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        strict = self.strict if strict is None else strict
        request = tools_request(
            tools, tool_required=tool_required, tool_choice=tool_choice, strict=strict
        )
        return {"messages": messages, **request, **kwargs}

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            return force_single_call(response)
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """Every tool call of the response (partial ones too, mid-stream)."""
        selections = tool_selections(response.message)
        if not selections and error_on_no_tool_call:
            raise ValueError(
                "the model answered without a tool call; pass tool_required=True (or a "
                "tool_choice) to force one, or error_on_no_tool_call=False to accept text"
            )
        return selections

    # -- structured output --------------------------------------------------------------

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Stream a structured object through a call forced to its one tool.

        LlamaIndex's streaming program sends no tool_choice (its non-streaming twin sends
        "required"), so a model free to answer in prose would stream empty objects.
        """
        if self.pydantic_program_mode not in _TOOL_MODES:
            return super()._structured_stream_call(output_cls, prompt, llm_kwargs, **prompt_args)
        program = forced_program(output_cls, prompt, self)
        return program.stream_call(llm_kwargs=llm_kwargs, **prompt_args)

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        if self.pydantic_program_mode not in _TOOL_MODES:
            return await super()._structured_astream_call(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        program = forced_program(output_cls, prompt, self)
        return await program.astream_call(llm_kwargs=llm_kwargs, **prompt_args)
