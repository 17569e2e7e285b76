"""Structured output through function calling: predict, stream, async, StructuredLLM."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel

from gw_emulator import GatewayEmulator, ScriptedReply

from .conftest import MakeLLM, chat_requests, last_body

# LlamaIndex's workflows (FunctionAgent) and StructuredLLM call pydantic APIs deprecated
# since 2.0; the warnings come from their code, not ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]


FAMILIES = ["gpt-5.5", "claude-opus-4-7", "gemini-3.1-pro-preview"]
PROMPT = PromptTemplate("Extract the invoice from: {text}")
TEXT = "Customer Acme paid a total of 1200 dollars."


class Invoice(BaseModel):
    """An invoice."""

    customer: str
    total: int


@pytest.mark.parametrize("model", FAMILIES)
async def test_structured_predict_sync_and_async(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str
) -> None:
    llm = make_llm(model)
    assert llm.structured_predict(Invoice, PROMPT, text=TEXT) == Invoice(
        customer="Acme", total=1200
    )
    body = last_body(gateway_emulator)
    assert body["tool_choice"] == "required"
    assert [t["function"]["name"] for t in body["tools"]] == ["Invoice"]
    assert "parallel_tool_calls" not in body and "temperature" not in body
    assert await llm.astructured_predict(Invoice, PROMPT, text=TEXT) == Invoice(
        customer="Acme", total=1200
    )


@pytest.mark.parametrize("model", FAMILIES)
async def test_streaming_structured_predict_forces_the_tool(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str
) -> None:
    llm = make_llm(model)
    partials = list(llm.stream_structured_predict(Invoice, PROMPT, text=TEXT))
    assert partials[-1] == Invoice(customer="Acme", total=1200)
    forced = {"type": "function", "function": {"name": "Invoice"}}
    assert last_body(gateway_emulator)["tool_choice"] == forced
    assert last_body(gateway_emulator)["stream"] is True
    partials = [p async for p in await llm.astream_structured_predict(Invoice, PROMPT, text=TEXT)]
    assert partials[-1] == Invoice(customer="Acme", total=1200)
    assert len(chat_requests(gateway_emulator)) == 2


@pytest.mark.parametrize("model", FAMILIES)
async def test_as_structured_llm(make_llm: MakeLLM, model: str) -> None:
    structured = make_llm(model).as_structured_llm(Invoice)
    message = ChatMessage(role=MessageRole.USER, content="Customer Bob paid a total of 5 dollars.")
    response = structured.chat([message])
    assert response.raw == Invoice(customer="Bob", total=5)
    assert Invoice.model_validate_json(response.message.content or "") == response.raw
    streamed = list(structured.stream_chat([message]))
    assert Invoice.model_validate_json(streamed[-1].message.content or "") == response.raw
    response = await structured.achat([message])
    assert response.raw == Invoice(customer="Bob", total=5)


def test_text_completion_mode_still_works(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("claude-sonnet-4-6", pydantic_program_mode=PydanticProgramMode.LLM)
    gateway_emulator.script(ScriptedReply(content='{"customer": "Zed", "total": 3}'))
    assert llm.structured_predict(Invoice, PROMPT, text=TEXT) == Invoice(customer="Zed", total=3)
    assert "tools" not in last_body(gateway_emulator)
