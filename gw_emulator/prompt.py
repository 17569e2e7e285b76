"""Reading a chat request the way the engine needs it: question, context, tool results.

Nothing here knows any particular prompt's wording. The question is the last user turn
(its last sentence that asks something, when the turn also carries context, as RAG
templates do); the context is every other piece of text in the conversation, split into
sentences; relevance is BM25 over those sentences (rare shared words count most, long sentences a
little less), so the sentence that best answers the question is always in the answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Prompt",
    "content_text",
    "content_words",
    "pick_relevant",
    "rank_sentences",
    "read_prompt",
]

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_WORD_RE = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_])+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?;。！？；])\s+|(?<=[。！？；])")
# A piece ending like "e.g." or "Dr." or an initial ("J.") does not end a sentence.
_ABBREVIATION_END_RE = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|approx|incl|excl|cf|no|nr|dr|mr|mrs|ms|st|fig)|\b[^\W\d_])\.$",
    re.IGNORECASE,
)
_MIN_SENTENCE_WORDS = 2
# "file_path: docs/a.md", "page_label: 3": metadata lines, not statements.
_METADATA_RE = re.compile(r"^[\w .-]{1,40}:\s*\S+$")
# Markdown table rows and box-drawing diagrams: layout, not statements to answer with.
_NOT_PROSE_RE = re.compile(r"^\||\|$|[\u2500-\u257f]")
# "how long", "how much": the word after "how" asks for a kind of answer; it is not the
# question's topic ("How long do refunds take?" is about refunds, not about length).
_HOW_RE = re.compile(r"\bhow\s+([^\W\d_]+)", re.IGNORECASE)
# "Query: ...", "Question: ...": a template's label in front of the question.
_LABEL_RE = re.compile(r"^\s*[^\W\d_]{1,20}\s*[:：]\s*")

# Function words that carry no topic; enough of them for overlap scoring in English.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves please tell give use using call show let lets get know s t
    """.split()
)


def content_text(content: Any) -> str:
    """The text of a message ``content``: a string, or the text parts of a parts list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        ]
        return "\n".join(parts)
    return ""


def media_parts(content: Any) -> int:
    """How many non-text parts (images, video, audio, files) a message carries."""
    if not isinstance(content, list):
        return 0
    return sum(1 for part in content if isinstance(part, dict) and part.get("type") != "text")


_VOWELS = frozenset("aeiouy")


def _stem(word: str) -> str:
    """A light suffix stripper, so "refunds", "refunded" and "refunding" meet at "refund"
    and "takes"/"taking" at "tak". Both sides of a comparison go through it, so a stem
    only has to be consistent, not a real word."""
    if not word.isascii() or len(word) <= 3:
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and _VOWELS & set(stem):
            word = stem
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # "shipping" -> "shipp" -> "ship"
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """Lower-cased, lightly stemmed topic words of ``text`` (stopwords dropped)."""
    words = []
    for raw in _WORD_RE.findall(text.lower()):
        if raw in STOPWORDS or (len(raw) == 1 and raw.isascii()):
            continue
        words.append(_stem(raw))
    return words


def _pieces(line: str) -> list[str]:
    """Split one line at sentence ends, mending splits after abbreviations ("e.g.")."""
    pieces: list[str] = []
    for piece in _SENTENCE_END_RE.split(line):
        if pieces and _ABBREVIATION_END_RE.search(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return pieces


def split_sentences(text: str) -> list[str]:
    """Sentences and lines of ``text`` that carry at least a couple of words."""
    sentences = []
    for line in text.splitlines():
        for piece in _pieces(line):
            piece = piece.strip()
            if _METADATA_RE.match(piece) or _NOT_PROSE_RE.search(piece):
                continue
            if len(_WORD_RE.findall(piece)) >= _MIN_SENTENCE_WORDS:
                sentences.append(piece)
    return sentences


@dataclass
class Prompt:
    """The parts of a request the engine answers from."""

    question: str = ""
    context: list[str] = field(default_factory=list)
    #: ``(tool name, result text)`` for tool messages that follow the last assistant turn.
    tool_results: list[tuple[str, str]] = field(default_factory=list)
    #: The whole text of the last user turn (values for tool arguments come from here).
    user_text: str = ""
    media: int = 0


def _question_of(text: str) -> tuple[str, list[str]]:
    """Split the last user turn into its question and the rest (RAG templates put the
    retrieved context and the question in one message)."""
    sentences = split_sentences(text)
    if len(sentences) <= 1:
        return text.strip(), []
    asking = [i for i, s in enumerate(sentences) if s.rstrip().endswith(("?", "？"))]
    if asking:
        index = asking[-1]
    else:
        # The last sentence with some topic words: a trailing "Answer:" label has none.
        candidates = [i for i, s in enumerate(sentences) if len(content_words(s)) >= 2]
        index = candidates[-1] if candidates else len(sentences) - 1
    return sentences[index], sentences[:index] + sentences[index + 1 :]


def read_prompt(messages: Sequence[dict[str, Any]]) -> Prompt:
    """Find the question, the context sentences and any trailing tool results."""
    prompt = Prompt()
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    call_names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                call_names[str(call.get("id"))] = str(call["function"].get("name", "tool"))
    # Tool results after the last assistant turn are what the model must answer from now.
    tail = len(messages)
    while tail > 0 and messages[tail - 1].get("role") == "tool":
        tail -= 1
    for message in messages[tail:]:
        name = call_names.get(str(message.get("tool_call_id")), "tool")
        prompt.tool_results.append((name, content_text(message.get("content")).strip()))
    for index, message in enumerate(messages):
        text = content_text(message.get("content"))
        if index == last_user:
            prompt.user_text = text
            prompt.media = media_parts(message.get("content"))
            prompt.question, rest = _question_of(text)
            prompt.context.extend(rest)
        elif index < tail:
            prompt.context.extend(split_sentences(text))
    return prompt


# BM25's usual constants: k1 bounds how much a repeated word adds, b how much a long
# sentence is discounted against the average one.
_K1 = 1.2
_B = 0.75


def rank_sentences(question: str, sentences: Sequence[str]) -> list[tuple[float, int]]:
    """``(score, index)`` of every sentence sharing a word with the question, best first.

    BM25 with each sentence as a document: a shared word counts by its rarity among the
    sentences, and a sentence longer than average counts a little less. Duplicates and
    the question itself are left out.
    """
    wanted = set(content_words(_LABEL_RE.sub("", question, count=1)))
    wanted -= set(content_words(" ".join(_HOW_RE.findall(question))))
    if not wanted or not sentences:
        return []
    bags = [content_words(s) for s in sentences]
    frequency: dict[str, int] = {}
    for bag in bags:
        for word in set(bag) & wanted:
            frequency[word] = frequency.get(word, 0) + 1
    total = len(sentences)
    average = max(1.0, sum(len(bag) for bag in bags) / total)
    scored = []
    seen = {question.strip().lower()}
    for index, (sentence, bag) in enumerate(zip(sentences, bags, strict=True)):
        key = sentence.strip().lower()
        common = wanted.intersection(bag)
        if not common or key in seen:
            continue
        seen.add(key)
        norm = _K1 * (1 - _B + _B * len(bag) / average)
        score = 0.0
        for word in common:
            rarity = math.log(1 + (total - frequency[word] + 0.5) / (frequency[word] + 0.5))
            count = bag.count(word)
            score += rarity * count * (_K1 + 1) / (count + norm)
        scored.append((score, index))
    return sorted(scored, key=lambda item: (-item[0], item[1]))


# A sentence scoring under this share of the best one only brushes the topic (it shares
# one common word): left out, so the answer reads like the passage that answers.
_RELATIVE_CUTOFF = 0.5


def pick_relevant(question: str, sentences: Sequence[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` best-ranked sentences (see :func:`rank_sentences`) that score at
    least half as well as the best, in their original order; none when nothing overlaps."""
    ranked = rank_sentences(question, sentences)
    if not ranked:
        return []
    floor = ranked[0][0] * _RELATIVE_CUTOFF
    best = [item for item in ranked[:limit] if item[0] >= floor]
    return [sentences[index] for _, index in sorted(best, key=lambda item: item[1])]
