"""Framework-free core shared by the LangChain and LlamaIndex adapters."""
