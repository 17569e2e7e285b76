"""LlamaIndex integration for the GW gateway."""
