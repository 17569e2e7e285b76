"""LangChain integration for the GW gateway."""
