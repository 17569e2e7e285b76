"""The RAG demo behind ``make demo`` and ``gw demo``: this project's docs, both frameworks.

    corpus          docs/*.md -> chunks of whole paragraphs under their headings
    index           one BM25 index over the chunks (offline, nothing downloaded)
    langchain_rag   a LangChain retriever over the index, and an LCEL retrieval chain
    llamaindex_rag  a LlamaIndex retriever over the index, and a streaming query engine
    backend         the gateway when GW_API_KEY is set, else an embedded emulator
    app             run_demo(): index, ask, stream, cite

Kept out of ``gw_core`` because it imports both frameworks; the package itself imports
nothing heavy, so ``gw demo`` loads them only when it runs. Entry point:
:func:`gw_demo.app.run_demo`.
"""
