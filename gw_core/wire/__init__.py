"""Framework-neutral wire layer: OpenAI Chat Completions dicts in, typed results out.

Request side: the content-part builders, then :func:`prepare` (which runs
:func:`validate_messages` and :func:`build_body`; both adapters call it).
Response side: :func:`parse_completion` for a body, or
:func:`iter_sse_data` / :func:`aiter_sse_data` feeding a :class:`StreamAccumulator`.
Adapters convert their framework's messages to and from these dicts and types.
"""

from __future__ import annotations

from .content import (
    MAX_INLINE_FILE_BYTES,
    MAX_INLINE_IMAGE_BYTES,
    MAX_INLINE_VIDEO_BYTES,
    audio_part,
    file_part,
    image_part,
    text_part,
    validate_messages,
    video_part,
)
from .params import build_body
from .prepare import merge_params, prepare
from .response import parse_completion
from .sse import SSEState, aiter_sse_data, iter_sse_data
from .stream import StreamAccumulator, merge_extra_content, new_tool_call_id
from .types import (
    ChatResult,
    StreamDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    normalize_finish_reason,
)

__all__ = [
    "MAX_INLINE_FILE_BYTES",
    "MAX_INLINE_IMAGE_BYTES",
    "MAX_INLINE_VIDEO_BYTES",
    "ChatResult",
    "SSEState",
    "StreamAccumulator",
    "StreamDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "aiter_sse_data",
    "audio_part",
    "build_body",
    "file_part",
    "image_part",
    "iter_sse_data",
    "merge_extra_content",
    "merge_params",
    "new_tool_call_id",
    "normalize_finish_reason",
    "parse_completion",
    "prepare",
    "text_part",
    "validate_messages",
    "video_part",
]
