"""The emulator serves only its base path, so a wrong ``GW_BASE_URL`` fails in tests as it
would on the real gateway."""

from __future__ import annotations

import openai
import pytest

from gw_core.errors import NotFoundError
from gw_emulator import GatewayEmulator
from langchain_gw import ChatGateway


def test_a_wrong_base_path_in_gw_base_url_fails_with_a_404(
    gateway_env: GatewayEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_BASE_URL", gateway_env.base_url + "/foo")
    with pytest.raises(NotFoundError) as caught:
        ChatGateway(model="gpt-5.4", max_retries=0).invoke("Hello")
    assert "/foo/v1/chat/completions" in str(caught.value)
    assert [r.status for r in gateway_env.requests] == [404]


def test_an_emulator_with_a_base_path_serves_only_under_it() -> None:
    with GatewayEmulator(base_path="/gw_llm_power/") as emu:
        assert emu.base_path == "/gw_llm_power"
        assert emu.base_url.endswith(f":{emu.port}/gw_llm_power")
        llm = ChatGateway(model="gpt-5.4", api_key=emu.api_key, base_url=emu.base_url)
        assert llm.invoke("Hello").content
        root = openai.OpenAI(
            base_url=f"http://127.0.0.1:{emu.port}/v1", api_key=emu.api_key, max_retries=0
        )
        with pytest.raises(openai.NotFoundError):
            root.models.list()
        root.close()
        assert [(r.path, r.status) for r in emu.requests] == [
            ("/gw_llm_power/v1/chat/completions", 200),
            ("/v1/models", 404),
        ]


@pytest.mark.parametrize("bad", ["gw_llm_power", "/a?b=1", "/base/v1", "/a b"])
def test_a_base_path_that_cannot_be_served_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="base_path"):
        GatewayEmulator(base_path=bad)
