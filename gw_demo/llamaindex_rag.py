"""The LlamaIndex half of the demo: a retriever over the shared index and a query engine.

The retriever hands LlamaIndex the same chunks, in the same order, as the LangChain side
gets; the query engine is the stock ``RetrieverQueryEngine`` with ``streaming=True`` and
the demo's prompt. Node metadata (file and section) is kept for citations but hidden from
the model, so the excerpts the model reads are the same text on both sides.
"""

from __future__ import annotations

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.llms import LLM, ChatMessage, MessageRole
from llama_index.core.prompts import ChatPromptTemplate
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers import ResponseMode
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from gw_demo.index import DocsIndex
from gw_demo.prompts import SYSTEM_PROMPT, USER_TEMPLATE

__all__ = ["DocsNodeRetriever", "build_query_engine", "qa_template"]

_METADATA_KEYS = ["source", "section"]


class DocsNodeRetriever(BaseRetriever):
    """LlamaIndex retriever over the shared BM25 index."""

    def __init__(self, index: DocsIndex, k: int = 4) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self._index = index
        self._k = k
        super().__init__()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        nodes = []
        for hit in self._index.search(query_bundle.query_str, self._k):
            node = TextNode(
                id_=hit.chunk.id,
                text=hit.chunk.text,
                metadata={
                    "source": hit.chunk.source,
                    "section": hit.chunk.section,
                },
                excluded_llm_metadata_keys=list(_METADATA_KEYS),
                excluded_embed_metadata_keys=list(_METADATA_KEYS),
            )
            nodes.append(NodeWithScore(node=node, score=hit.score))
        return nodes


def qa_template() -> ChatPromptTemplate:
    """The demo's system and user messages in LlamaIndex's variable names."""
    user = USER_TEMPLATE.format(context="{context_str}", question="{query_str}")
    return ChatPromptTemplate(
        message_templates=[
            ChatMessage(role=MessageRole.SYSTEM, content=SYSTEM_PROMPT),
            ChatMessage(role=MessageRole.USER, content=user),
        ]
    )


def build_query_engine(
    llm: LLM, retriever: BaseRetriever, *, streaming: bool = True
) -> RetrieverQueryEngine:
    """A ``compact`` query engine: one model call per question, streamed when asked."""
    return RetrieverQueryEngine.from_args(
        retriever,
        llm=llm,
        streaming=streaming,
        response_mode=ResponseMode.COMPACT,
        text_qa_template=qa_template(),
    )
