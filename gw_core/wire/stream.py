"""The stream accumulator: any sequence of chunks of the three dialects -> one message.

What the dialects do differently, and what this module makes of it:

- GPT: a role-only first chunk, indexed tool-call deltas, usage on a last chunk with
  ``choices: []`` (when ``stream_options.include_usage`` is set).
- Claude (through the gateway's converter): usage on the chunk that carries the
  finish reason.
- Gemini: tool-call deltas without ``index`` (often a whole call per delta), a tool
  turn ended with ``finish_reason: "stop"``, cumulative usage on every chunk, and
  Gemini 3's ``extra_content.google.thought_signature``, sometimes on a trailing
  delta that names no call.

Usage is cumulative wherever it repeats: the last one wins, nothing is summed. Only the
first choice (``index`` 0) is assembled. A stream with no finish reason was cut:
:meth:`StreamAccumulator.check_complete` says so.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ..errors import IncompleteStreamError
from .types import (
    ChatResult,
    StreamDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    check_tool_calls,
    normalize_finish_reason,
)

__all__ = ["StreamAccumulator", "merge_extra_content", "new_tool_call_id"]


def new_tool_call_id() -> str:
    """An id for a tool call the upstream sent without one (tool results must name it)."""
    return "call_" + uuid.uuid4().hex[:24]


def merge_extra_content(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Merge ``extra_content`` dicts key by key, nested dicts too; newer values win."""
    if not new:
        return old
    if not old:
        return dict(new)
    merged = dict(old)
    for key, value in new.items():
        prior = merged.get(key)
        if isinstance(prior, dict) and isinstance(value, dict):
            merged[key] = merge_extra_content(prior, value)
        else:
            merged[key] = value
    return merged


class _Call:
    """A tool call being assembled.

    ``fallback`` is the id the call is shown with until (unless) the upstream sends its
    own: fixed at opening, so reading the turn mid-stream changes nothing.
    """

    __slots__ = ("args", "extra", "fallback", "id", "index", "name")

    def __init__(self, index: int) -> None:
        self.index = index
        self.fallback = new_tool_call_id()
        self.id: str | None = None
        self.name: str | None = None
        self.args: list[str] = []
        self.extra: dict[str, Any] | None = None


def _text_of(value: Any) -> str:
    """Delta text: a string, or (from a few converters) a list of text parts."""
    if value.__class__ is str:
        return value
    if isinstance(value, list):
        return "".join(
            p.get("text") or "" for p in value if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def _continues(call: _Call, call_id: str | None, name: str | None) -> bool:
    """Whether a delta at ``call``'s index belongs to it (not to a new call sharing it).

    A different id opens a new call. Without ids, a delta naming a function while the
    call already has a name and complete arguments is the next call: some proxies send
    index 0 for every call, and merging them would lose one. A repeated name on a call
    still being written (a few converters repeat it on every fragment) continues it.
    """
    if call_id is not None:
        return call.id in (None, call_id)
    if name is None or call.name is None:
        return True
    if name != call.name:
        return False
    return not _complete_json(call.args)


def _complete_json(parts: list[str]) -> bool:
    text = "".join(parts)
    if not text.strip():
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class StreamAccumulator:
    """Feed it every chunk dict with :meth:`add`; read the turn with :meth:`result`."""

    __slots__ = (
        "_by_id",
        "_by_index",
        "_calls",
        "_content",
        "_finish",
        "_model_seen",
        "_reasoning",
        "_refusal",
        "_usage",
        "created",
        "id",
        "model",
        "started",
        "system_fingerprint",
    )

    def __init__(self, model: str | None = None) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._calls: list[_Call] = []
        self._by_index: dict[Any, _Call] = {}
        self._by_id: dict[str, _Call] = {}
        self._finish: str | None = None
        self._usage: Usage | None = None
        #: Response id, model, creation time and fingerprint: first chunk that has each.
        self.id: str | None = None
        self.model: str | None = model
        self._model_seen = False
        self.created: int | None = None
        self.system_fingerprint: str | None = None
        #: True once any content, reasoning, refusal or tool-call delta arrived.
        self.started = False

    # -- reading ------------------------------------------------------------------------

    @property
    def finish_reason(self) -> str | None:
        """The normalized finish reason so far (``stop`` on a tool turn -> ``tool_calls``)."""
        return normalize_finish_reason(self._finish, bool(self._calls))

    @property
    def text(self) -> str:
        """The text received so far (the partial text of a failed stream)."""
        return "".join(self._content)

    @property
    def usage(self) -> Usage | None:
        """The last usage seen (usage is cumulative: never summed)."""
        return self._usage

    def check_complete(self) -> None:
        """Raise IncompleteStreamError if no chunk carried a finish reason (a cut stream),
        and InvalidToolCallError if a tool call's arguments are not one JSON object."""
        if self._finish is None:
            text = self.text
            raise IncompleteStreamError(
                "the stream ended without a finish_reason: the gateway or a proxy cut it "
                f"after {len(text)} characters of text and {len(self._calls)} tool call(s)",
                partial_text=text,
                model=self.model,
            )
        check_tool_calls(self.result(), partial_text=self.text)

    def result(self) -> ChatResult:
        """A snapshot of the turn so far; reading it changes nothing, mid-stream or after.

        Call :meth:`check_complete` first to be strict. A call the upstream sent without
        an id shows a generated one (the same on every read) until its own arrives.
        """
        calls = [
            ToolCall(call.id or call.fallback, call.name or "", "".join(call.args), call.extra)
            for call in self._calls
        ]
        return ChatResult(
            content="".join(self._content),
            tool_calls=calls,
            finish_reason=self.finish_reason,
            usage=self._usage,
            reasoning="".join(self._reasoning) or None,
            id=self.id,
            model=self.model,
            created=self.created,
            system_fingerprint=self.system_fingerprint,
            refusal="".join(self._refusal) or None,
        )

    # -- feeding ------------------------------------------------------------------------

    def add(self, chunk: dict[str, Any]) -> StreamDelta | None:
        """Take one chunk; return what it contributed, or None if nothing (keep-alives,
        role-only first chunks, empty ``choices`` without usage)."""
        if self.id is None:
            self._read_ids(chunk)
        usage = None
        raw_usage = chunk.get("usage")
        if raw_usage:
            usage = Usage.from_dict(raw_usage)
            if usage is not None:
                self._usage = usage
        content = reasoning = refusal = ""
        tool_deltas: list[ToolCallDelta] = []
        finish = None
        choices = chunk.get("choices")
        if choices and choices.__class__ is list:
            for choice in choices:
                if choice.__class__ is not dict or choice.get("index"):
                    continue  # only the first choice is assembled
                delta = choice.get("delta")
                if delta:
                    value = delta.get("content")
                    if value:
                        content = value if value.__class__ is str else _text_of(value)
                        self._content.append(content)
                    value = delta.get("reasoning_content") or delta.get("reasoning")
                    if value and value.__class__ is str:
                        reasoning = value
                        self._reasoning.append(value)
                    value = delta.get("tool_calls")
                    if value and value.__class__ is list:
                        tool_deltas = self._add_tool_calls(value)
                    value = delta.get("refusal")
                    if value and value.__class__ is str:
                        refusal = value
                        self._refusal.append(value)
                raw_finish = choice.get("finish_reason")
                if raw_finish:
                    self._finish = raw_finish
                    finish = self.finish_reason
        if content or reasoning or refusal or tool_deltas:
            self.started = True
        elif finish is None and usage is None:
            return None
        return StreamDelta(content, reasoning, tool_deltas, finish, usage, refusal)

    def _read_ids(self, chunk: dict[str, Any]) -> None:
        # Runs until a chunk brings an id (normally the first one).
        self.id = chunk.get("id") or None
        model = chunk.get("model")
        if model and not self._model_seen:
            self.model = model
            self._model_seen = True
        if self.created is None:
            created = chunk.get("created")
            self.created = created if isinstance(created, int) else None
        if self.system_fingerprint is None:
            self.system_fingerprint = chunk.get("system_fingerprint") or None

    def _add_tool_calls(self, raw_deltas: list[Any]) -> list[ToolCallDelta]:
        out = []
        for raw in raw_deltas:
            if raw.__class__ is not dict:
                continue
            index = raw.get("index")
            call_id = raw.get("id") or None
            fn = raw.get("function")
            name = args = None
            if fn and fn.__class__ is dict:
                name = fn.get("name") or None
                args = fn.get("arguments")
            if args is None:
                args = ""
            elif args.__class__ is not str:
                # A few converters send the arguments as an object.
                args = json.dumps(args, ensure_ascii=False)
            extra = raw.get("extra_content") or None
            if extra is not None and extra.__class__ is not dict:
                extra = None
            call = self._match(index, call_id, name)
            new_id = new_name = None
            if call_id is not None and call.id is None:
                call.id = new_id = call_id
                self._by_id[call_id] = call
            if name is not None and call.name is None:
                call.name = new_name = name
            if args:
                call.args.append(args)
            if extra is not None:
                call.extra = merge_extra_content(call.extra, extra)
            out.append(ToolCallDelta(call.index, new_id, new_name, args, extra))
        return out

    def _match(self, index: Any, call_id: str | None, name: str | None) -> _Call:
        """Find the call a delta belongs to, or open a new one.

        With an index: the call last seen at that index, unless the delta brings a
        different id (some proxies send index 0 for every parallel call). Without one:
        by id if given (a new id with no name completes a last call that had none); else
        a delta with a name opens a new call; else it continues the last call (argument
        fragments, trailing thought signatures).
        """
        if index is not None:
            call = self._by_index.get(index)
            if call is not None and _continues(call, call_id, name):
                return call
            known = self._by_id.get(call_id) if call_id is not None else None
            call = known if known is not None else self._open()
            self._by_index[index] = call
            return call
        last = self._calls[-1] if self._calls else None
        if call_id is not None:
            known = self._by_id.get(call_id)
            if known is not None:
                return known
            if name is None and last is not None and last.id is None:
                return last  # the call was opened by its name; its id came later
            return self._open()
        if name is None and last is not None:
            return last
        return self._open()

    def _open(self) -> _Call:
        call = _Call(len(self._calls))
        self._calls.append(call)
        return call
