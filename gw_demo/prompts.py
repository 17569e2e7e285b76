"""The words both RAG pipelines send, in one place so the two frameworks ask alike.

The instruction names no topic of its own: a model (or the emulator, which answers from
the sentences most relevant to the question) should find its answer in the excerpts only.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["EXCERPT_SEPARATOR", "QUESTIONS", "SYSTEM_PROMPT", "USER_TEMPLATE", "join_excerpts"]

SYSTEM_PROMPT = (
    "Reply in two or three sentences, using only the excerpts below. "
    "If they do not cover it, say so."
)

#: ``{context}`` and ``{question}`` are filled by each framework's own prompt template.
USER_TEMPLATE = "Excerpts:\n\n{context}\n\nQuestion: {question}"

EXCERPT_SEPARATOR = "\n\n---\n\n"

#: What ``gw demo`` asks when no ``--question`` is given: one per area a newcomer meets.
QUESTIONS: tuple[str, ...] = (
    "Where does the API key come from, and where does it never appear?",
    "How long does the library wait after a 429 rate limit?",
    "Which models accept video input?",
)


def join_excerpts(texts: Iterable[str]) -> str:
    """The context block: excerpts separated by a rule, so none runs into the next."""
    return EXCERPT_SEPARATOR.join(text.strip() for text in texts)
