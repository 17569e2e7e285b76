"""What LangChain asks a chat model about itself, answered offline from the catalog.

- :func:`model_profile`: ``BaseChatModel.profile`` from :mod:`gw_core.catalog` (context
  window, output limit, modalities), for every id including pool suffixes, which
  ``ChatOpenAI``'s exact-name registry misses (``gpt-5.4-hc`` gets no profile there).
- :func:`count_message_tokens`: ``get_num_tokens_from_messages`` with
  :mod:`gw_core.tokens`, which needs no vocabulary download (tiktoken does).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from gw_core.catalog import Family, parse
from gw_core.tokens import count_tokens, tokenize

__all__ = ["count_message_tokens", "model_profile", "token_ids"]

#: Tokens charged per message for its role and framing (an estimate, as OpenAI's is).
PER_MESSAGE_TOKENS = 3
#: Tokens charged per image or video block: OpenAI's figure for a low-detail image. The
#: true cost depends on size and upstream; this keeps budgets honest without decoding.
PER_MEDIA_TOKENS = 85
_MEDIA_TYPES = frozenset(
    {"image", "image_url", "video", "video_url", "audio", "input_audio", "file"}
)


def model_profile(model: str) -> ModelProfile:
    """The profile of any model id the gateway serves (known or guessed)."""
    spec = parse(model)
    claude = spec.family is Family.CLAUDE
    return ModelProfile(
        max_input_tokens=spec.context_window,
        max_output_tokens=spec.max_output,
        text_inputs=True,
        image_inputs=spec.image_input,
        image_url_inputs=spec.image_input,
        video_inputs=spec.video_input,
        audio_inputs=False,
        pdf_inputs=False,
        # Images in tool results travel in a user message after the tool messages.
        image_tool_message=spec.image_input,
        pdf_tool_message=False,
        text_outputs=True,
        image_outputs=False,
        audio_outputs=False,
        video_outputs=False,
        reasoning_output=spec.family is not Family.UNKNOWN,
        tool_calling=True,
        tool_choice=True,
        tool_call_streaming=True,
        # The gateway's Claude route may ignore response_format (see with_structured_output).
        structured_output=not claude,
        temperature="temperature" not in spec.rules.forbidden,
    )


def token_ids(text: str) -> list[int]:
    """Stable ids for :func:`gw_core.tokens.tokenize`'s tokens (CRC-32 of each token).

    Not any vendor's vocabulary: enough for code that slices or counts by token ids.
    """
    return [zlib.crc32(token.encode("utf-8")) for token in tokenize(text)]


def _media_blocks(message: BaseMessage) -> int:
    if isinstance(message.content, str):
        return 0
    return sum(
        1
        for block in message.content
        if isinstance(block, dict) and block.get("type") in _MEDIA_TYPES
    )


def count_message_tokens(messages: Sequence[BaseMessage], tools: Sequence[Any] | None) -> int:
    """An offline estimate of a request's prompt tokens (text, tool calls, media, tools)."""
    total = 0
    for message in messages:
        total += PER_MESSAGE_TOKENS + count_tokens(message.text)
        total += PER_MEDIA_TOKENS * _media_blocks(message)
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                total += count_tokens(call["name"]) + count_tokens(
                    json.dumps(call["args"], ensure_ascii=False)
                )
    if tools:
        schemas = [convert_to_openai_tool(tool) for tool in tools]
        total += count_tokens(json.dumps(schemas, ensure_ascii=False))
    return total
