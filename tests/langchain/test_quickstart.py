"""The README's LangChain quickstart, run as written against the emulator.

The snippet below is the README block verbatim; keep the two in step (the README runner
of the docs issue can replace this copy).
"""

from __future__ import annotations

import pytest

from gw_emulator import GatewayEmulator

QUICKSTART = '''
from pydantic import BaseModel
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from langchain_gw import ChatGateway

llm = ChatGateway(model="claude-sonnet-4-6")  # reads GW_API_KEY and GW_BASE_URL

# A chain
prompt = ChatPromptTemplate.from_messages(
    [("system", "Answer from this note: the gateway has five pools."), ("human", "{question}")]
)
chain = prompt | llm
print(chain.invoke({"question": "How many pools does the gateway have?"}).text)

# Streaming, token by token
for chunk in llm.stream("Say hello to the team."):
    print(chunk.text, end="", flush=True)
print()

# Tools
@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"Sunny in {city}."

call = llm.bind_tools([get_weather]).invoke("Use get_weather for Paris.")
print(call.tool_calls[0]["name"], call.tool_calls[0]["args"])

# Structured output
class Forecast(BaseModel):
    city: str
    celsius: int

print(llm.with_structured_output(Forecast).invoke("Forecast for Oslo."))
'''


def test_quickstart_runs_as_written(
    gateway_env: GatewayEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(QUICKSTART, "README.md", "exec"), {"__name__": "quickstart"})
    lines = capsys.readouterr().out.splitlines()
    assert "five pools" in lines[0]
    assert "hello" in lines[1].lower()
    assert lines[2].startswith("get_weather {'city': ")
    assert lines[3].startswith("city=") and "celsius=" in lines[3]
    assert [r.status for r in gateway_env.requests] == [200] * 4
