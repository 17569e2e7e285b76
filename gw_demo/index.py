"""One BM25 index over the docs, shared by the LangChain and the LlamaIndex side.

BM25 (``bm25s`` with the PyStemmer English stemmer, the same settings as LlamaIndex's
``BM25Retriever``) ranks by word overlap, needs no model download and builds in
milliseconds, so the demo runs offline. Both frameworks read this one index, so any
difference between their answers comes from the framework, not from retrieval.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import bm25s
import Stemmer
from tqdm import tqdm

from gw_demo.corpus import Chunk, markdown_files, split_markdown

__all__ = ["DocsIndex", "Hit"]

_LANGUAGE = "english"


@dataclass(frozen=True)
class Hit:
    """A chunk and its BM25 score for one query."""

    chunk: Chunk
    score: float


class DocsIndex:
    """Chunks of Markdown files and their BM25 index; :meth:`search` ranks them."""

    def __init__(self, chunks: list[Chunk], root: Path | None = None) -> None:
        self._stemmer = Stemmer.Stemmer(_LANGUAGE)
        tokens = [self._tokens(f"{chunk.section}\n{chunk.text}") for chunk in chunks]
        kept = [(chunk, toks) for chunk, toks in zip(chunks, tokens, strict=True) if toks]
        if not kept:
            raise ValueError("nothing to index: the documents hold no searchable words")
        self.chunks = [chunk for chunk, _ in kept]
        self.root = root
        self._bm25 = bm25s.BM25()
        self._bm25.index([toks for _, toks in kept], show_progress=False)
        self._vocab = frozenset(self._bm25.vocab_dict)

    @classmethod
    def from_directory(
        cls, docs_dir: Path, *, progress: bool = True, stream: TextIO | None = None
    ) -> DocsIndex:
        """Read and chunk every ``*.md`` file of ``docs_dir`` (with a progress bar), then index.

        Sources are named relative to the folder's parent (``docs/streaming.md``), which is
        how a reader of the repository finds them.
        """
        files = markdown_files(docs_dir)
        if not files:
            raise ValueError(f"no Markdown files in {docs_dir}; point --docs at a folder of *.md")
        base = docs_dir.resolve().parent
        chunks: list[Chunk] = []
        bar: Iterable[Path] = tqdm(
            files,
            desc=f"Indexing {docs_dir.name}/",
            unit="file",
            disable=not progress,
            file=stream or sys.stderr,
            leave=True,
        )
        for path in bar:
            source = path.resolve().relative_to(base).as_posix()
            chunks.extend(split_markdown(path.read_text(encoding="utf-8"), source))
        return cls(chunks, root=base)

    @property
    def sources(self) -> list[str]:
        """The indexed files, in index order."""
        return list(dict.fromkeys(chunk.source for chunk in self.chunks))

    def _tokens(self, text: str) -> list[str]:
        tokenized = bm25s.tokenize(
            text, stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False
        )
        return [token for token in tokenized[0] if token]

    def search(self, query: str, k: int = 4) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first; only chunks sharing a word."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        tokens = [token for token in self._tokens(query) if token in self._vocab]
        if not tokens:
            return []
        found, scores = self._bm25.retrieve(
            [tokens], k=min(k, len(self.chunks)), show_progress=False, n_threads=1
        )
        return [
            Hit(self.chunks[int(position)], float(score))
            for position, score in zip(found[0], scores[0], strict=True)
            if score > 0
        ]
