"""A loopback server that speaks the gateway contract, for tests, demos and notebooks.

    from gw_emulator import GatewayEmulator, Fault, ScriptedReply

    with GatewayEmulator() as emu:
        client = openai.OpenAI(base_url=emu.base_url + "/v1", api_key=emu.api_key)
        emu.inject(Fault.status(429, retry_after=1))
        ...
        assert emu.requests[-1].status == 200

It answers ``POST {base}/v1/chat/completions`` in the GPT, Claude or Gemini dialect
chosen by the model id, checks keys and requests like the gateway, answers from the
prompt with a deterministic engine (no model weights), and plays scripted replies and
injected faults. The pytest plugin provides the ``gateway_emulator`` and ``gateway_env``
fixtures; ``gw emulator`` runs it from the command line.
"""

from gw_emulator.dialects import Quirks
from gw_emulator.faults import Fault
from gw_emulator.replies import ScriptedReply, ScriptedToolCall
from gw_emulator.server import GatewayEmulator
from gw_emulator.state import RecordedRequest

__all__ = [
    "Fault",
    "GatewayEmulator",
    "Quirks",
    "RecordedRequest",
    "ScriptedReply",
    "ScriptedToolCall",
]
