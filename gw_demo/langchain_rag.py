"""The LangChain half of the demo: a retriever over the shared index and a retrieval chain.

``langchain-community`` is not a dependency, so the retriever is a small ``BaseRetriever``
of our own over :class:`gw_demo.index.DocsIndex`. The chain is plain LCEL::

    {docs: retriever, question: passthrough}
        .assign(answer = prompt | ChatGateway | StrOutputParser)

so ``chain.stream(question)`` yields the retrieved documents first, then the answer token
by token, and the caller can cite the documents the answer was built from.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough
from pydantic import ConfigDict, Field

from gw_demo.index import DocsIndex
from gw_demo.prompts import SYSTEM_PROMPT, USER_TEMPLATE, join_excerpts

__all__ = ["DocsRetriever", "build_chain", "format_docs"]


class DocsRetriever(BaseRetriever):
    """LangChain retriever over the shared BM25 index; metadata says where each text is."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: DocsIndex
    k: int = Field(default=4, ge=1)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                page_content=hit.chunk.text,
                id=hit.chunk.id,
                metadata={
                    "source": hit.chunk.source,
                    "section": hit.chunk.section,
                    "score": hit.score,
                },
            )
            for hit in self.index.search(query, self.k)
        ]


def format_docs(docs: list[Document]) -> str:
    """The excerpts as the prompt shows them."""
    return join_excerpts(doc.page_content for doc in docs)


def _prompt_inputs(state: dict[str, Any]) -> dict[str, str]:
    return {"context": format_docs(state["docs"]), "question": state["question"]}


def build_chain(llm: BaseChatModel, retriever: BaseRetriever) -> Runnable[str, dict[str, Any]]:
    """question -> ``{"docs": [...], "question": ..., "answer": ...}``; streams the answer."""
    prompt = ChatPromptTemplate.from_messages([("system", SYSTEM_PROMPT), ("human", USER_TEMPLATE)])
    answer = RunnableLambda(_prompt_inputs) | prompt | llm | StrOutputParser()
    return RunnableParallel(docs=retriever, question=RunnablePassthrough()).assign(answer=answer)
