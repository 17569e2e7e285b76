"""RAG end to end on the emulator: indexes, retrievers and every response mode, offline."""

from __future__ import annotations

import pytest
from llama_index.core import Document, SummaryIndex, VectorStoreIndex
from llama_index.core import Settings as LlamaSettings
from llama_index.core.base.response.schema import AsyncStreamingResponse, StreamingResponse
from llama_index.core.chat_engine.types import ChatMode
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers import ResponseMode
from llama_index.core.schema import BaseNode

from gw_emulator import GatewayEmulator

from .conftest import MakeLLM, chat_requests

DOCS = [
    Document(
        text="The retry policy waits for the Retry-After header before trying again.",
        metadata={"file": "retries.md"},
    ),
    Document(
        text="Pool failover moves a request to the official pool when the hc pool fails.",
        metadata={"file": "pools.md"},
    ),
    Document(
        text="Video input is accepted only by Gemini models behind the gateway.",
        metadata={"file": "video.md"},
    ),
    Document(
        text="The emulator answers from the sentences of the prompt with no model weights.",
        metadata={"file": "emulator.md"},
    ),
]
QUESTION = "Which models accept video input?"
FACT = "Video input is accepted only by Gemini models"


def nodes() -> list[BaseNode]:
    return SentenceSplitter(chunk_size=256, chunk_overlap=0).get_nodes_from_documents(DOCS)


def bm25(top_k: int = 2):  # type: ignore[no-untyped-def]
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    return BM25Retriever.from_defaults(
        nodes=nodes(), similarity_top_k=top_k, stemmer=Stemmer.Stemmer("english"), language="en"
    )


@pytest.mark.parametrize(
    ("mode", "calls"),
    [("compact", 1), ("refine", 4), ("tree_summarize", 1), ("simple_summarize", 1)],
)
@pytest.mark.parametrize("model", ["gpt-5.4", "claude-sonnet-4-6", "gemini-2.5-flash-lite"])
def test_summary_index_query_engines(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str, mode: str, calls: int
) -> None:
    index = SummaryIndex(nodes())
    engine = index.as_query_engine(llm=make_llm(model), response_mode=mode)
    response = engine.query(QUESTION)
    assert FACT in str(response)
    requests = chat_requests(gateway_emulator)
    assert len(requests) == calls
    assert all("temperature" not in r.body for r in requests)


@pytest.mark.parametrize(("mode", "calls"), [("compact", 1), ("refine", 2), ("tree_summarize", 1)])
def test_bm25_retrieval_grounds_the_answer_and_cites_the_source(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, mode: str, calls: int
) -> None:
    engine = RetrieverQueryEngine.from_args(
        bm25(), llm=make_llm("claude-opus-4-7"), response_mode=ResponseMode(mode)
    )
    response = engine.query(QUESTION)
    assert FACT in str(response)
    assert response.source_nodes[0].node.metadata["file"] == "video.md"
    assert len(chat_requests(gateway_emulator)) == calls


@pytest.mark.parametrize("model", ["gpt-5.5", "gemini-3-flash-preview"])
async def test_streaming_query_engine_streams_each_token_once(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str
) -> None:
    engine = RetrieverQueryEngine.from_args(bm25(), llm=make_llm(model), streaming=True)
    response = engine.query(QUESTION)
    assert isinstance(response, StreamingResponse)
    tokens = list(response.response_gen)
    assert len(tokens) > 1 and FACT in "".join(tokens)
    (request,) = chat_requests(gateway_emulator)
    assert request.body["stream"] is True

    async_response = await engine.aquery(QUESTION)
    assert isinstance(async_response, AsyncStreamingResponse)
    text = "".join([t async for t in async_response.async_response_gen()])
    assert text == "".join(tokens)
    assert len(chat_requests(gateway_emulator)) == 2


async def test_async_query_and_vector_index_plumbing(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    # MockEmbedding ranks nothing (all vectors equal): top_k covers every node.
    index = VectorStoreIndex(nodes(), embed_model=MockEmbedding(embed_dim=8))
    engine = index.as_query_engine(llm=make_llm("gemini-2.5-pro"), similarity_top_k=len(DOCS))
    response = await engine.aquery(QUESTION)
    assert FACT in str(response)
    assert len(chat_requests(gateway_emulator)) == 1


def test_settings_llm_drives_a_chat_engine(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LlamaSettings, "_llm", make_llm("claude-haiku-4-5"))
    chat_engine = SummaryIndex(nodes()).as_chat_engine(chat_mode=ChatMode.CONTEXT)
    reply = chat_engine.chat(QUESTION)
    assert FACT in str(reply)
    follow_up = chat_engine.chat("Does the retry policy wait for the Retry-After header?")
    assert "Retry-After" in str(follow_up)
    last = chat_requests(gateway_emulator)[-1].body["messages"]
    assert [m["role"] for m in last].count("assistant") == 1
