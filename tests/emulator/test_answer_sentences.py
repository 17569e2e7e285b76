"""The engine's extractive answers hold the sentence that best answers the question.

Someone judging their retrieval on the emulator reads these answers: a missing answer
sentence would look like a retrieval bug that is not there.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from gw_emulator import engine
from gw_emulator.prompt import rank_sentences, split_sentences

from .support import ask

#: (question, context, the sentence that answers it). Each context has distractors that
#: share the question's frame words ("take", "long", "cost") but not its topic.
PAIRS = [
    (
        "How long do refunds take?",
        "Shipping takes long. Packing takes long. Delivery takes two days. "
        "Returns take a week. Refunds are paid within five working days of receiving "
        "the returned parcel at our warehouse in Leeds.",
        "Refunds are paid within five working days of receiving the returned parcel at our "
        "warehouse in Leeds.",
    ),
    (
        "How long does a refund take?",
        "A refunded order is closed after payment. Processing of refunded amounts takes "
        "five working days. Shipping takes long. Packing takes long. Delivery takes long.",
        "Processing of refunded amounts takes five working days.",
    ),
    (
        "How long do refunds take?",
        "Refunds, e.g. for damaged items, are paid within five working days. Shipping "
        "takes three days. Returns take a week. Exchanges take two weeks.",
        "Refunds, e.g. for damaged items, are paid within five working days.",
    ),
    (
        "How much does express shipping cost?",
        "Express shipping costs 12 euros and arrives the next day. Standard shipping is "
        "free. Shipping to islands may take longer. Our shipping partner is DHL.",
        "Express shipping costs 12 euros and arrives the next day.",
    ),
    (
        "Who do I contact about a refund?",
        "Refunds are paid within five days. Refunds go to the original card. For refund "
        "questions, contact billing@example.com. Refunds of gift cards are not possible.",
        "For refund questions, contact billing@example.com.",
    ),
    (
        "When is the office open?",
        "The office manager is Ana. Parking is free for visitors. Our office is open from "
        "9 to 17 on weekdays. The office has a kitchen. It is closed on Sundays.",
        "Our office is open from 9 to 17 on weekdays.",
    ),
]


def _answer(question: str, context: str, *, template: bool) -> str:
    if template:  # LlamaIndex's text-QA template: context and question in one turn
        messages: Any = ask(
            f"Context information is below.\n---------------------\n{context}\n"
            "---------------------\nGiven the context information and not prior knowledge, "
            f"answer the query.\nQuery: {question}\nAnswer: "
        )
    else:  # a system turn with the notes, the question as the user turn
        messages = ask(question, system=f"Reply from these notes only.\n{context}")
    reply = engine.answer({"model": "gpt-5.4", "messages": messages})
    assert reply.content is not None
    return reply.content


@pytest.mark.parametrize("template", [False, True], ids=["system-notes", "rag-template"])
@pytest.mark.parametrize(("question", "context", "expected"), PAIRS, ids=[p[0] for p in PAIRS])
def test_the_answer_contains_the_sentence_that_answers_the_question(
    question: str, context: str, expected: str, template: bool
) -> None:
    assert expected in _answer(question, context, template=template)


@pytest.mark.parametrize(("question", "context", "expected"), PAIRS, ids=[p[0] for p in PAIRS])
def test_the_answer_sentence_ranks_first(question: str, context: str, expected: str) -> None:
    sentences = split_sentences(context)
    ranked = rank_sentences(question, sentences)
    assert sentences[ranked[0][1]] == expected


def test_abbreviations_do_not_end_a_sentence() -> None:
    assert split_sentences("Pay by card, e.g. Visa. Dr. Ana signs it. Done now.") == [
        "Pay by card, e.g. Visa.",
        "Dr. Ana signs it.",
        "Done now.",
    ]


def test_the_answer_sentence_comes_back_through_the_wire(client: openai.OpenAI) -> None:
    question, context, expected = PAIRS[0]
    response = client.chat.completions.create(
        model="claude-haiku-4-5", messages=ask(question, system=context)
    )
    assert expected in (response.choices[0].message.content or "")
