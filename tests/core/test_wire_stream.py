"""The stream accumulator on realistic chunks of each dialect, and its quirks one by one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gw_core.errors import IncompleteStreamError, InvalidToolCallError
from gw_core.wire import StreamAccumulator, ToolCall, ToolCallDelta, Usage, iter_sse_data

SIG_A = {"google": {"thought_signature": "U0lHLUE="}}
SIG_B = {"google": {"thought_signature": "U0lHLUI="}}


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
    *,
    model: str = "gpt-5.4",
    cid: str = "chatcmpl-1",
    choices: list[Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": 1761635478,
        "model": model,
    }
    if choices is not None:
        out["choices"] = choices
    else:
        out["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    if usage is not None:
        out["usage"] = usage
    return out


def usage(prompt: int, completion: int, **extra: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        **extra,
    }


def run(chunks: list[dict[str, Any]], model: str | None = None) -> StreamAccumulator:
    acc = StreamAccumulator(model)
    for c in chunks:
        acc.add(c)
    return acc


# -- realistic fixtures, one per dialect -------------------------------------------------

GPT_TEXT = [
    chunk({"role": "assistant", "content": "", "refusal": None}),
    chunk({"content": "Hello"}),
    chunk({"content": ", world"}),
    chunk({}, "stop"),
    chunk(
        choices=[],
        usage=usage(
            10,
            3,
            prompt_tokens_details={"cached_tokens": 4},
            completion_tokens_details={"reasoning_tokens": 0},
        ),
    ),
]

GPT_TOOLS = [
    chunk({"role": "assistant", "content": None}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
    chunk(
        {
            "tool_calls": [
                {"index": 1, "id": "call_b", "function": {"name": "get_time", "arguments": ""}}
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
    chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"tz": "CET"}'}}]}),
    chunk({}, "tool_calls"),
    chunk(choices=[], usage=usage(50, 20)),
]

CLAUDE_TOOLS = [
    chunk({"role": "assistant", "content": "Let me check."}, model="claude-sonnet-4-6"),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_01",
                    "type": "function",
                    "function": {"name": "search", "arguments": ""},
                }
            ]
        },
        model="claude-sonnet-4-6",
    ),
    chunk(
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"q": "gw"}'}}]},
        model="claude-sonnet-4-6",
    ),
    chunk({}, "tool_calls", usage(30, 12), model="claude-sonnet-4-6"),
]

GEMINI_TOOLS = [
    chunk(
        {"role": "assistant", "reasoning_content": "Two lookups needed."},
        usage=usage(40, 5),
        model="gemini-3.1-pro-preview",
    ),
    chunk(
        {
            "tool_calls": [
                {
                    "id": "function-call-1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"id": 1}'},
                    "extra_content": SIG_A,
                },
                {
                    "id": "function-call-2",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"id": 2}'},
                },
            ]
        },
        usage=usage(40, 18),
        model="gemini-3.1-pro-preview",
    ),
    # The signature of the second call arrives on a trailing delta naming no call.
    chunk({"tool_calls": [{"extra_content": SIG_B}]}, usage=usage(40, 19), model="gemini-x"),
    chunk({}, "stop", usage(40, 21), model="gemini-3.1-pro-preview"),
]


def test_gpt_text_stream() -> None:
    acc = StreamAccumulator()
    deltas = [acc.add(c) for c in GPT_TEXT]
    assert deltas[0] is None  # the role-only first chunk carried nothing
    assert deltas[1] is not None and deltas[1].content == "Hello"
    assert deltas[3] is not None and deltas[3].finish_reason == "stop"
    assert deltas[4] is not None and deltas[4].usage == Usage(10, 3, 13, 4, 0)
    acc.check_complete()
    result = acc.result()
    assert result.content == "Hello, world"
    assert result.finish_reason == "stop"
    assert result.usage == Usage(10, 3, 13, cached_tokens=4, reasoning_tokens=0)
    assert (result.id, result.model, result.created) == ("chatcmpl-1", "gpt-5.4", 1761635478)
    assert result.tool_calls == [] and result.reasoning is None and result.refusal is None


def test_gpt_parallel_tool_calls_with_index() -> None:
    result = run(GPT_TOOLS).result()
    assert result.tool_calls == [
        ToolCall("call_a", "get_weather", '{"city": "Paris"}'),
        ToolCall("call_b", "get_time", '{"tz": "CET"}'),
    ]
    assert result.finish_reason == "tool_calls"
    assert result.content == ""
    assert result.usage == Usage(50, 20, 70)


def test_claude_usage_on_the_finish_chunk() -> None:
    acc = run(CLAUDE_TOOLS)
    result = acc.result()
    assert result.content == "Let me check."
    assert result.tool_calls == [ToolCall("toolu_01", "search", '{"q": "gw"}')]
    assert result.usage == Usage(30, 12, 42)
    assert result.model == "claude-sonnet-4-6"


def test_gemini_tool_turn() -> None:
    acc = run(GEMINI_TOOLS)
    acc.check_complete()
    result = acc.result()
    assert result.tool_calls == [
        ToolCall("function-call-1", "lookup", '{"id": 1}', SIG_A),
        ToolCall("function-call-2", "lookup", '{"id": 2}', SIG_B),
    ]
    # Gemini ends a streamed tool turn with "stop".
    assert result.finish_reason == "tool_calls"
    # Cumulative usage on every chunk: the last one, never the sum.
    assert result.usage == Usage(40, 21, 61)
    assert result.reasoning == "Two lookups needed."
    # The model name comes from the first chunk that had one.
    assert result.model == "gemini-3.1-pro-preview"
    # Echoing the turn back carries both signatures unchanged.
    echoed = result.to_assistant_message()["tool_calls"]
    assert [c["extra_content"] for c in echoed] == [SIG_A, SIG_B]


def test_gemini_stream_through_sse_with_keepalives() -> None:
    lines: list[str] = [": ping", ""]
    for c in GEMINI_TOOLS:
        lines += ["data: " + json.dumps(c), "", "data: : keepalive", ""]
    lines.append("data: [DONE]")
    acc = StreamAccumulator()
    for c in iter_sse_data(lines):
        acc.add(c)
    assert acc.result() == run(GEMINI_TOOLS).result()


# -- quirks one by one -------------------------------------------------------------------


def test_tool_deltas_report_normalized_index_and_first_id_and_name_only() -> None:
    acc = StreamAccumulator()
    first = acc.add(
        chunk({"tool_calls": [{"id": "x", "function": {"name": "f", "arguments": '{"a"'}}]})
    )
    again = acc.add(
        chunk({"tool_calls": [{"id": "x", "function": {"name": "f", "arguments": ": 1}"}}]})
    )
    assert first is not None and again is not None
    assert first.tool_calls == [ToolCallDelta(0, "x", "f", '{"a"', None)]
    # The repeated id and name are not reported twice (frameworks concatenate them).
    assert again.tool_calls == [ToolCallDelta(0, None, None, ": 1}", None)]
    assert acc.result().tool_calls == [ToolCall("x", "f", '{"a": 1}')]


def test_no_index_no_id_fragments_continue_the_last_call_and_a_name_opens_a_new_one() -> None:
    result = run(
        [
            chunk({"tool_calls": [{"function": {"name": "f", "arguments": '{"a":'}}]}),
            chunk({"tool_calls": [{"function": {"arguments": " 1}"}}]}),
            chunk({"tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}),
            chunk({}, "stop"),
        ]
    ).result()
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("f", '{"a": 1}'), ("f", "{}")]
    ids = [c.id for c in result.tool_calls]
    # Calls sent without ids get unique ones (tool results must reference them).
    assert all(i.startswith("call_") for i in ids) and len(set(ids)) == 2
    assert result.finish_reason == "tool_calls"


def test_ids_interleaved_without_index_are_matched_by_id() -> None:
    result = run(
        [
            chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{"}}]}),
            chunk({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": "["}}]}),
            chunk({"tool_calls": [{"id": "a", "function": {"arguments": "}"}}]}),
            chunk({"tool_calls": [{"id": "b", "function": {"arguments": "]"}}]}),
        ]
    ).result()
    assert result.tool_calls == [ToolCall("a", "f", "{}"), ToolCall("b", "g", "[]")]


def test_an_id_arriving_after_the_name_completes_the_same_call() -> None:
    result = run(
        [
            chunk({"tool_calls": [{"function": {"name": "f", "arguments": ""}}]}),
            chunk({"tool_calls": [{"id": "late", "function": {"arguments": "{}"}}]}),
        ]
    ).result()
    assert result.tool_calls == [ToolCall("late", "f", "{}")]


def test_index_reused_with_a_new_id_opens_a_new_call() -> None:
    result = run(
        [
            chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f"}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
            chunk({"tool_calls": [{"index": 0, "id": "b", "function": {"name": "g"}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"k": 2}'}}]}),
        ]
    ).result()
    assert result.tool_calls == [ToolCall("a", "f", "{}"), ToolCall("b", "g", '{"k": 2}')]


def test_mixed_index_and_id_matching() -> None:
    result = run(
        [
            chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{"}}]}),
            chunk({"tool_calls": [{"index": 5, "id": "a", "function": {"arguments": "}"}}]}),
            chunk({"tool_calls": [{"index": 5, "extra_content": SIG_A}]}),
        ]
    ).result()
    assert result.tool_calls == [ToolCall("a", "f", "{}", SIG_A)]


def test_several_calls_and_content_in_one_chunk() -> None:
    acc = StreamAccumulator()
    delta = acc.add(
        chunk(
            {
                "content": "Calling two tools.",
                "tool_calls": [
                    {"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}},
                    {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}},
                ],
            },
            "tool_calls",
        )
    )
    assert delta is not None
    assert [d.index for d in delta.tool_calls] == [0, 1]
    assert delta.finish_reason == "tool_calls"
    result = acc.result()
    assert result.content == "Calling two tools."
    assert [c.id for c in result.tool_calls] == ["a", "b"]


def test_signatures_merge_and_a_signature_on_the_opening_delta_is_kept() -> None:
    other = {"google": {"thought_signature": "U0lHLUE=", "extra": 1}, "vendor": {"k": "v"}}
    result = run(
        [
            chunk({"tool_calls": [{"id": "a", "function": {"name": "f"}, "extra_content": SIG_A}]}),
            chunk(
                {"tool_calls": [{"extra_content": {"google": {"extra": 1}, "vendor": {"k": "v"}}}]}
            ),
        ]
    ).result()
    assert result.tool_calls[0].extra_content == other


def test_arguments_sent_as_an_object_are_serialized() -> None:
    result = run(
        [chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": {"q": "é"}}}]})]
    ).result()
    assert result.tool_calls[0].parsed_arguments() == {"q": "é"}


def test_usage_is_the_last_one_never_the_sum() -> None:
    chunks = [
        chunk({"content": "a"}, usage=usage(10, 1)),
        chunk({"content": "b"}, usage=usage(10, 2)),
        chunk({"content": "c"}, "stop", usage=usage(10, 3)),
    ]
    assert run(chunks).result().usage == Usage(10, 3, 13)


def test_usage_missing_everywhere_is_none() -> None:
    assert run([chunk({"content": "a"}, "stop")]).result().usage is None


def test_a_null_usage_after_a_real_one_does_not_erase_it() -> None:
    chunks = [chunk({"content": "a"}, usage=usage(4, 1)), chunk({}, "stop", usage=None)]
    chunks[1]["usage"] = None
    assert run(chunks).result().usage == Usage(4, 1, 5)


def test_usage_only_chunk_returns_a_delta_with_the_usage() -> None:
    acc = StreamAccumulator()
    delta = acc.add(chunk(choices=[], usage=usage(2, 2)))
    assert delta is not None and delta.usage == Usage(2, 2, 4) and delta.content == ""
    assert acc.started is False


@pytest.mark.parametrize(
    "empty",
    [
        chunk(choices=[]),
        chunk({"role": "assistant"}),
        chunk({"role": "assistant", "content": ""}),
        {"object": "chat.completion.chunk"},
        chunk(choices=[{"index": 1, "delta": {"content": "other choice"}}]),
    ],
)
def test_chunks_carrying_nothing_return_none(empty: dict[str, Any]) -> None:
    acc = StreamAccumulator()
    assert acc.add(empty) is None
    assert acc.started is False and acc.text == ""


def test_reasoning_content_and_reasoning_are_kept_apart_from_text() -> None:
    acc = StreamAccumulator()
    d1 = acc.add(chunk({"reasoning_content": "step 1. "}))
    d2 = acc.add(chunk({"reasoning": "step 2."}))
    acc.add(chunk({"content": "Answer"}, "stop"))
    assert d1 is not None and d1.reasoning == "step 1. " and d1.content == ""
    assert d2 is not None and d2.reasoning == "step 2."
    result = acc.result()
    assert result.reasoning == "step 1. step 2."
    assert result.content == "Answer"
    assert acc.started


def test_refusal_is_accumulated() -> None:
    acc = StreamAccumulator()
    delta = acc.add(chunk({"refusal": "I can't "}))
    acc.add(chunk({"refusal": "do that."}, "stop"))
    assert delta is not None and delta.refusal == "I can't "
    assert acc.result().refusal == "I can't do that."


def test_content_as_a_list_of_text_parts() -> None:
    acc = run(
        [chunk({"content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]})]
    )
    assert acc.text == "hi there"


def test_stop_without_tool_calls_stays_stop_and_length_stays_length() -> None:
    assert run([chunk({"content": "x"}, "stop")]).finish_reason == "stop"
    tool_cut = [
        chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f"}}]}, "length")
    ]
    assert run(tool_cut).finish_reason == "length"


def test_finish_reason_property_and_text_while_streaming() -> None:
    acc = StreamAccumulator()
    acc.add(chunk({"content": "par"}))
    assert acc.finish_reason is None and acc.text == "par" and acc.started
    acc.add(chunk({"content": "tial"}, "stop"))
    assert acc.finish_reason == "stop" and acc.text == "partial"


def test_missing_finish_reason_is_an_incomplete_stream() -> None:
    acc = run(
        [chunk({"role": "assistant"}), chunk({"content": "cut "}), chunk({"content": "here"})]
    )
    with pytest.raises(IncompleteStreamError, match="without a finish_reason") as info:
        acc.check_complete()
    assert info.value.partial_text == "cut here"
    assert info.value.model == "gpt-5.4"


def test_check_complete_passes_when_a_finish_reason_arrived() -> None:
    run(GPT_TEXT).check_complete()


def test_ids_come_from_the_first_chunk_that_has_them() -> None:
    first = {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
    acc = run([first, chunk({"content": "x"}, cid="chatcmpl-9", model="gpt-5.5")], model="fallback")
    result = acc.result()
    assert (result.id, result.model, result.created) == ("chatcmpl-9", "gpt-5.5", 1761635478)
    later = chunk({"content": "y"}, cid="chatcmpl-other", model="other")
    acc.add(later)
    assert (acc.result().id, acc.result().model) == ("chatcmpl-9", "gpt-5.5")


def test_the_constructor_model_is_the_fallback() -> None:
    acc = run(
        [{"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": "stop"}]}], "m"
    )
    assert acc.result().model == "m" and acc.result().id is None


def test_result_is_stable_across_calls() -> None:
    acc = run([chunk({"tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]})])
    assert acc.result() == acc.result()


def test_reading_the_result_mid_stream_changes_nothing() -> None:
    """A Gemini call opened by its name, its id arriving later, read in between: one call."""
    acc = StreamAccumulator()
    acc.add(chunk({"tool_calls": [{"function": {"name": "f", "arguments": '{"a": 1}'}}]}))
    early = acc.result()
    assert early == acc.result()  # the same snapshot on every read
    acc.add(chunk({"tool_calls": [{"id": "call_up", "extra_content": SIG_A}]}, "stop"))
    final = acc.result()
    assert [(c.id, c.name, c.arguments, c.extra_content) for c in final.tool_calls] == [
        ("call_up", "f", '{"a": 1}', SIG_A)
    ]
    assert early.tool_calls[0].id.startswith("call_") and early.tool_calls[0].id != "call_up"


def test_two_calls_sharing_an_index_without_ids_are_neither_merged_nor_lost() -> None:
    acc = StreamAccumulator()
    for name, args in (("get_weather", '{"city": "Paris"}'), ("get_weather", '{"city": "Rome"}')):
        acc.add(chunk({"tool_calls": [{"index": 0, "function": {"name": name, "arguments": ""}}]}))
        acc.add(chunk({"tool_calls": [{"index": 0, "function": {"arguments": args}}]}))
    acc.add(chunk({"tool_calls": [{"index": 0, "function": {"name": "get_time"}}]}))
    acc.add(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}, "tool_calls"))
    calls = acc.result().tool_calls
    assert [(c.name, c.arguments) for c in calls] == [
        ("get_weather", '{"city": "Paris"}'),
        ("get_weather", '{"city": "Rome"}'),
        ("get_time", "{}"),
    ]
    assert len({c.id for c in calls}) == 3


def test_a_name_repeated_on_every_fragment_of_one_call_continues_it() -> None:
    acc = StreamAccumulator()
    for piece in ('{"city"', ': "Paris"}'):
        acc.add(
            chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": piece}}]})
        )
    acc.add(chunk({}, "tool_calls"))
    assert [(c.name, c.arguments) for c in acc.result().tool_calls] == [("f", '{"city": "Paris"}')]


@pytest.mark.parametrize("arguments", ['{"city": "Par', '{"city": Paris}', "[1]"])
def test_a_finished_turn_with_arguments_that_are_not_a_json_object_is_refused(
    arguments: str,
) -> None:
    acc = StreamAccumulator()
    acc.add(chunk({"content": "Let me check."}))
    acc.add(chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f"}}]}))
    acc.add(chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}, "length"))
    with pytest.raises(InvalidToolCallError, match="raise max_completion_tokens") as caught:
        acc.check_complete()
    err = caught.value
    assert (err.tool_name, err.arguments, err.partial_text) == ("f", arguments, "Let me check.")
