"""``gw demo``: index the project's docs, then answer questions with both frameworks.

Each question goes to a LangChain retrieval chain (``ChatGateway``) and to a LlamaIndex
query engine (``GatewayLLM``); both read the same BM25 index, both stream their answer
token by token, and both cite the files the excerpts came from.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from langchain_core.documents import Document
from llama_index.core.base.response.schema import StreamingResponse

from gw_demo.backend import Backend, open_backend
from gw_demo.corpus import find_docs_dir
from gw_demo.index import DocsIndex
from gw_demo.langchain_rag import DocsRetriever, build_chain
from gw_demo.llamaindex_rag import DocsNodeRetriever, build_query_engine
from gw_demo.printer import StreamPrinter
from gw_demo.prompts import QUESTIONS

__all__ = ["DEFAULT_MODEL", "DemoAnswer", "Excerpt", "run_demo"]

DEFAULT_MODEL = "gpt-5.4"
_RULE = "─" * 88


@dataclass(frozen=True)
class Excerpt:
    """A retrieved chunk as the answer was given it: where it is, and its text."""

    source: str
    section: str
    text: str

    @property
    def section_title(self) -> str:
        """The innermost heading (``Rate limits`` of ``Retries > Rate limits``)."""
        return self.section.rsplit(" > ", 1)[-1]


@dataclass(frozen=True)
class DemoAnswer:
    """One framework's answer to one question, with the excerpts it was built from."""

    framework: str
    question: str
    text: str
    #: Best first.
    excerpts: tuple[Excerpt, ...]

    @property
    def files(self) -> tuple[str, ...]:
        """The cited files, without repeats, best first."""
        return tuple(dict.fromkeys(excerpt.source for excerpt in self.excerpts))


def _cite(out: TextIO, answer: DemoAnswer) -> None:
    """One line per cited file, with the sections its excerpts came from."""
    if not answer.excerpts:
        out.write("    Sources: none (no excerpt shared a word with the question)\n")
        return
    out.write("    Sources:\n")
    for source in answer.files:
        titles = dict.fromkeys(e.section_title for e in answer.excerpts if e.source == source)
        named = "; ".join(title for title in titles if title)
        out.write(f"      {source}" + (f" ({named})" if named else "") + "\n")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


class _Pipelines:
    """The two RAG pipelines over one index and one backend."""

    def __init__(self, index: DocsIndex, backend: Backend, model: str, k: int) -> None:
        from langchain_gw import ChatGateway
        from llamaindex_gw import GatewayLLM

        connection = backend.connection()
        chat_model = ChatGateway(model=model, streaming=True, **connection)
        self.chain = build_chain(chat_model, DocsRetriever(index=index, k=k))
        llm = GatewayLLM(model=model, **connection)
        self.query_engine = build_query_engine(llm, DocsNodeRetriever(index, k), streaming=True)

    def ask_langchain(self, question: str, out: TextIO) -> DemoAnswer:
        printer = StreamPrinter(out)
        docs: list[Document] = []
        for piece in self.chain.stream(question):
            docs.extend(piece.get("docs", ()))
            token = piece.get("answer")
            if token:
                printer.feed(token)
        printer.close()
        return DemoAnswer(
            framework="LangChain",
            question=question,
            text=printer.text.strip(),
            excerpts=tuple(
                Excerpt(str(d.metadata["source"]), str(d.metadata["section"]), d.page_content)
                for d in docs
            ),
        )

    def ask_llamaindex(self, question: str, out: TextIO) -> DemoAnswer:
        printer = StreamPrinter(out)
        response = self.query_engine.query(question)
        if not isinstance(response, StreamingResponse):
            raise TypeError("the query engine was built without streaming=True")
        for token in response.response_gen:
            printer.feed(token)
        printer.close()
        return DemoAnswer(
            framework="LlamaIndex",
            question=question,
            text=printer.text.strip(),
            excerpts=tuple(
                Excerpt(
                    str(n.node.metadata["source"]),
                    str(n.node.metadata["section"]),
                    n.node.get_content(),
                )
                for n in response.source_nodes
            ),
        )


def run_demo(
    *,
    model: str = DEFAULT_MODEL,
    docs_dir: Path | None = None,
    questions: Sequence[str] = QUESTIONS,
    k: int = 4,
    out: TextIO | None = None,
    progress: bool = True,
) -> list[DemoAnswer]:
    """Run the demo, printing to ``out`` (stdout); returns every answer for inspection.

    Raises ``FileNotFoundError`` when no docs folder is found and ``ValueError`` for bad
    arguments, before any request.
    """
    out = out or sys.stdout
    if not questions or any(not q.strip() for q in questions):
        raise ValueError("questions must be non-empty strings")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    folder = docs_dir or find_docs_dir()
    if folder is None or not folder.is_dir():
        where = str(docs_dir) if docs_dir else "the installed package or the project checkout"
        raise FileNotFoundError(f"no docs/ folder with Markdown files in {where}; pass --docs")

    out.write("gw demo: a RAG app over this project's own docs, on LangChain and LlamaIndex.\n")
    answers: list[DemoAnswer] = []
    with open_backend() as backend:
        out.write(f"Running on {backend.title}.\n")
        out.write(textwrap.fill(backend.note, width=88) + "\n")
        out.write(f"Model: {model}\n\n")
        out.flush()
        index = DocsIndex.from_directory(folder, progress=progress)
        out.write(
            f"Indexed {len(index.chunks)} chunks from {len(index.sources)} files with BM25 "
            "(offline, no model download).\n"
        )
        pipelines = _Pipelines(index, backend, model, k)
        for number, question in enumerate(questions, start=1):
            out.write(f"\n{_RULE}\nQuestion {number}/{len(questions)}: {question}\n")
            steps: list[tuple[str, Callable[[str, TextIO], DemoAnswer]]] = [
                ("LangChain · retrieval chain · ChatGateway", pipelines.ask_langchain),
                ("LlamaIndex · query engine · GatewayLLM", pipelines.ask_llamaindex),
            ]
            for title, ask in steps:
                out.write(f"\n  {title}\n")
                out.flush()
                answer = ask(question, out)
                _cite(out, answer)
                answers.append(answer)
        where = "the embedded emulator" if backend.emulated else "the GW gateway"
        out.write(
            f"\n{_RULE}\nDone: {_plural(len(questions), 'question')} answered by LangChain and "
            f"LlamaIndex on {where}.\n"
        )
        if backend.emulated:
            out.write("Set GW_API_KEY (and GW_BASE_URL if needed) to run it on the gateway.\n")
    out.flush()
    return answers
