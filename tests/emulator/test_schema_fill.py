"""Schema filling and prompt reading, unit-level: valid for any schema, values from text."""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from gw_core.tokens import count_tokens, tokenize, truncate
from gw_emulator.prompt import content_words, pick_relevant, read_prompt, split_sentences
from gw_emulator.schema_fill import fill_schema


def test_numbers_are_handed_out_in_order_and_by_name() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "integer"},
            "limit": {"type": "integer"},
        },
    }
    assert fill_schema(schema, "with limit 9, add 3 and 12") == {"a": 3, "b": 12, "limit": 9}


def test_quoted_strings_names_booleans_and_enums() -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "city": {"type": "string"},
            "verbose": {"type": "boolean"},
            "strict": {"type": "boolean"},
            "color": {"type": "string", "enum": ["red", "green", "blue"]},
        },
    }
    value = fill_schema(schema, 'Make "Quarterly report" for Madrid in green, verbose, not strict')
    assert value == {
        "title": "Quarterly report",
        "city": "Madrid",
        "verbose": True,
        "strict": False,
        "color": "green",
    }


def test_name_value_pairs_win() -> None:
    schema = {"type": "object", "properties": {"user_id": {"type": "string"}}}
    assert fill_schema(schema, "look up the account, user id: u-778") == {"user_id": "u-778"}


def test_bounds_formats_const_and_defaults() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 10, "maximum": 20},
            "when": {"type": "string", "format": "date"},
            "kind": {"const": "fixed"},
            "mode": {"type": "string", "default": "fast"},
            "code": {"type": "string", "minLength": 4, "maxLength": 6},
        },
        "required": ["n", "when", "kind", "mode", "code"],
    }
    value = fill_schema(schema, "5 on 2026-03-01")
    jsonschema.validate(value, schema)
    assert value["n"] == 10 and value["when"] == "2026-03-01" and value["kind"] == "fixed"


def test_arrays_of_objects_and_refs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/definitions/Item"}, "minItems": 2}
        },
        "required": ["items"],
        "definitions": {
            "Item": {
                "type": "object",
                "properties": {"qty": {"type": "integer"}},
                "required": ["qty"],
            }
        },
    }
    value = fill_schema(schema, "order 4 and 6")
    jsonschema.validate(value, schema)
    assert value == {"items": [{"qty": 4}, {"qty": 6}]}


# -- property: any schema built from the common keywords gets a valid value ------------------

_SCALARS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "number", "minimum": -5, "maximum": 5},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "string", "enum": ["x", "y"]},
        {"type": ["string", "null"]},
        {"type": "string", "minLength": 3, "maxLength": 5},
        {"type": "integer", "exclusiveMinimum": 0},
    ]
)


def _compound(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.text("abcdefgh_", min_size=1, max_size=6)
    objects = st.dictionaries(names, children, max_size=4).flatmap(
        lambda props: st.builds(
            lambda required, extra: {
                "type": "object",
                "properties": props,
                "required": sorted(required) + extra,
            },
            st.sets(st.sampled_from(sorted(props)) if props else st.nothing(), max_size=len(props)),
            st.lists(names.filter(lambda n: n not in props), max_size=1),
        )
    )
    arrays = st.builds(
        lambda items, low: {"type": "array", "items": items, "minItems": low},
        children,
        st.integers(0, 3),
    )
    unions = st.lists(children, min_size=1, max_size=3).map(lambda options: {"anyOf": options})
    return objects | arrays | unions


SCHEMAS = st.recursive(_SCALARS, _compound, max_leaves=12)
TEXTS = st.sampled_from(
    ["", "add 3 and 4", 'name "Bo" from Paris, x', "no values here at all", "7"]
)


@settings(max_examples=60, deadline=None)
@given(schema=SCHEMAS, text=TEXTS)
def test_filled_value_always_validates(schema: dict[str, Any], text: str) -> None:
    jsonschema.validate(fill_schema(schema, text), schema)


# -- prompt reading and the tokenizer ---------------------------------------------------------


def test_question_and_context_split_out_of_one_user_turn() -> None:
    prompt = read_prompt(
        [
            {
                "role": "user",
                "content": "Cats sleep a lot. Dogs bark loudly.\nQuestion: why do dogs bark?",
            }
        ]
    )
    assert prompt.question == "Question: why do dogs bark?"
    assert prompt.context == ["Cats sleep a lot.", "Dogs bark loudly."]
    assert pick_relevant(prompt.question, prompt.context) == ["Dogs bark loudly."]


def test_trailing_tool_results_are_collected_with_their_tool_names() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    prompt = read_prompt(
        [
            {"role": "user", "content": "look it up"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "found"}]},
        ]
    )
    assert prompt.tool_results == [("lookup", "found")]


def test_words_sentences_and_cjk() -> None:
    assert content_words("The Policies are retried") == ["policy", "retry"]
    assert content_words("refunds refunded refunding refund") == ["refund"] * 4
    assert split_sentences("One two. Three four!\n\n--\n你好世界。再见朋友") == [
        "One two.",
        "Three four!",
        "你好世界。",
        "再见朋友",
    ]


def test_tokenizer_counts_and_truncates_consistently() -> None:
    text = "Hello, wonderful world 12345 你好"
    assert tokenize(text) == ["Hello", ",", "wonderfu", "l", "world", "123", "45", "你", "好"]
    assert count_tokens(text) == 9
    assert count_tokens("") == 0
    for limit in range(11):
        cut = truncate(text, limit)
        assert count_tokens(cut) == min(limit, 9)
        assert text.startswith(cut)
