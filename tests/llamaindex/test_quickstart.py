"""The LlamaIndex quickstart offered for the README, run as written against the emulator."""

from __future__ import annotations

import pytest
from llama_index.core import Settings as LlamaSettings

from gw_emulator import GatewayEmulator

from .conftest import chat_requests

# LlamaIndex's workflows (FunctionAgent) and StructuredLLM call pydantic APIs deprecated
# since 2.0; the warnings come from their code, not ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]


#: The README's LlamaIndex section (keep the two in step).
QUICKSTART = '''
import asyncio

from llama_index.core import Document, Settings, SummaryIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

from llamaindex_gw import GatewayLLM

# The key and address come from GW_API_KEY and GW_BASE_URL.
Settings.llm = GatewayLLM(model="claude-sonnet-4-6")

# A query engine over your documents (SummaryIndex needs no embedding model).
index = SummaryIndex.from_documents(
    [
        Document(text="The gateway serves GPT, Claude and Gemini models."),
        Document(text="Video input is accepted only by Gemini models."),
    ]
)
print(index.as_query_engine().query("Which models accept video input?"))

# Streaming, token by token.
for chunk in Settings.llm.stream_complete("Say hello to the gateway."):
    print(chunk.delta, end="", flush=True)
print()


# Structured output.
class Invoice(BaseModel):
    customer: str
    total: int


prompt = PromptTemplate("Extract the invoice from: {text}")
print(Settings.llm.structured_predict(Invoice, prompt, text="Customer Acme paid a total of 1200."))


# An agent with a tool.
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


async def main() -> None:
    agent = FunctionAgent(tools=[multiply], llm=Settings.llm)
    print(await agent.run("Use multiply on 6 and 7."))


asyncio.run(main())
'''


def test_quickstart_runs_as_written(
    gateway_env: GatewayEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(LlamaSettings, "_llm", None)  # restored after the test
    exec(compile(QUICKSTART, "README-llamaindex", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out.splitlines()
    assert "Video input is accepted only by Gemini models." in out[0]
    assert out[1] == "You said: Say hello to the gateway."
    assert out[2] == "customer='Acme' total=1200"
    assert out[3] == "Based on the tool results, multiply returned: 42"
    assert len(chat_requests(gateway_env)) == 5
