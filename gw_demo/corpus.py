"""The demo's corpus: the project's own Markdown docs, cut into retrievable chunks.

A chunk is a run of whole blocks (paragraphs, lists, tables, code fences) under one
heading, up to about :data:`MAX_CHUNK_WORDS` words, so an excerpt handed to the model is
never cut mid-sentence or mid-table. Framework-free on purpose: both the LangChain and the
LlamaIndex side of the demo read the same chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHECKOUT_DOCS",
    "MAX_CHUNK_WORDS",
    "PACKAGED_DOCS",
    "Chunk",
    "find_docs_dir",
    "markdown_files",
    "split_markdown",
    "unwrap",
]

#: A chunk grows block by block until it passes this many words.
MAX_CHUNK_WORDS = 140

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def unwrap(block: str) -> str:
    """Join a paragraph's wrapped lines (and each list item's) into one line.

    Sentences then stay whole for whoever reads the excerpt line by line; code fences and
    tables keep their lines.
    """
    lines = block.splitlines()
    if not lines or any(_FENCE.match(line) for line in lines) or lines[0].lstrip().startswith("|"):
        return block
    joined: list[str] = []
    for line in lines:
        if joined and not _LIST_ITEM.match(line):
            joined[-1] = f"{joined[-1]} {line.strip()}"
        else:
            joined.append(line.rstrip())
    return "\n".join(joined)


@dataclass(frozen=True)
class Chunk:
    """One excerpt of one document.

    ``source`` is the file as a reader would open it (``docs/streaming.md``); ``section``
    is the heading path inside it (``Streaming > When a stream fails``).
    """

    id: str
    source: str
    section: str
    text: str

    @property
    def citation(self) -> str:
        """``docs/streaming.md (When a stream fails)``: where a reader finds this text."""
        leaf = self.section.rsplit(" > ", 1)[-1]
        return f"{self.source} ({leaf})" if leaf else self.source


#: Pages under docs/ that ``make bench`` / ``make reliability-report`` regenerate.
GENERATED_REPORTS = frozenset({"benchmarks.md", "reliability.md"})


#: Where the wheel ships the project's prose docs (``force-include`` in pyproject.toml), so
#: ``gw demo`` has its corpus without a checkout. Absent in a source checkout.
PACKAGED_DOCS = Path(__file__).resolve().parent / "docs"
#: The checkout's ``docs/`` beside this package (editable installs, ``make demo``).
CHECKOUT_DOCS = Path(__file__).resolve().parent.parent / "docs"


def find_docs_dir(candidates: Sequence[Path] = (PACKAGED_DOCS, CHECKOUT_DOCS)) -> Path | None:
    """The demo's default corpus: this project's docs, as installed or in the checkout.

    The working directory is not searched: the built-in questions are about this library,
    and a user's own ``docs/`` would answer them from unrelated text; ``--docs DIR`` is how
    a user points the demo at their files. None when no candidate holds Markdown.
    """
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.md")):
            return candidate
    return None


def markdown_files(docs_dir: Path) -> list[Path]:
    """The ``*.md`` files of ``docs_dir``, sorted, so indexing is reproducible.

    Generated reports (benchmark and reliability tables) are left out: they are
    measurements, not prose written to answer a reader's question.
    """
    return sorted(
        p for p in docs_dir.glob("*.md") if p.is_file() and p.name not in GENERATED_REPORTS
    )


def _blocks(lines: list[str]) -> Iterator[tuple[str | None, int, str]]:
    """(heading text or None, heading level, block text) in document order.

    Blank lines separate blocks except inside a code fence, which stays one block.
    """
    block: list[str] = []
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            block.append(line)
            continue
        if in_fence:
            block.append(line)
            continue
        heading = _HEADING.match(line)
        if heading or not line.strip():
            if block:
                yield None, 0, "\n".join(block).strip("\n")
                block = []
            if heading:
                yield heading.group(2), len(heading.group(1)), ""
            continue
        block.append(line)
    if block:
        yield None, 0, "\n".join(block).strip("\n")


def split_markdown(text: str, source: str, max_words: int = MAX_CHUNK_WORDS) -> list[Chunk]:
    """Cut one Markdown document into chunks of whole blocks under their headings."""
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    chunks: list[Chunk] = []
    path: list[tuple[int, str]] = []
    pending: list[str] = []
    words = 0

    def flush() -> None:
        nonlocal pending, words
        body = "\n\n".join(pending).strip()
        if body:
            section = " > ".join(title for _, title in path)
            chunks.append(Chunk(f"{source}#{len(chunks)}", source, section, body))
        pending, words = [], 0

    for heading, level, block in _blocks(text.splitlines()):
        if heading is not None:
            flush()
            path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, heading)]
            continue
        size = len(block.split())
        if pending and words + size > max_words:
            flush()
        pending.append(unwrap(block))
        words += size
    flush()
    return chunks
