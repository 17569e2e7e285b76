"""Unknown-model errors say what to try: the closest catalog ids, or another pool."""

from __future__ import annotations

import pickle

import pytest

from gw_core.catalog import parse
from gw_core.errors import ModelNotFoundError, error_from_body
from gw_core.retry import RetryPolicy
from gw_core.settings import Settings
from gw_core.transport import Gateway
from gw_emulator import Fault, GatewayEmulator

# new-api's words when no channel serves a model: "no available channel for model X".
NO_CHANNEL = {
    "error": {
        "code": "model_not_found",
        "message": "分组 default 下模型 claude-sonet-4-6 无可用渠道（distributor）",
        "type": "new_api_error",
    }
}


def test_a_typo_gets_did_you_mean_with_the_closest_catalog_id() -> None:
    err = error_from_body(NO_CHANNEL, status_code=503, model="claude-sonet-4-6")
    assert isinstance(err, ModelNotFoundError)
    assert "did you mean claude-sonnet-4-6?" in str(err)
    assert "无可用渠道" in str(err)  # the gateway's own words stay


def test_a_catalog_id_with_no_channel_suggests_another_pool() -> None:
    err = error_from_body(NO_CHANNEL, status_code=503, model="claude-sonnet-4-6-hc")
    assert "is in the catalog" in str(err)
    assert "pools=['standard', 'official']" in str(err)


def test_an_id_far_from_the_catalog_points_at_gw_models() -> None:
    err = error_from_body(NO_CHANNEL, status_code=503, model="gpt-9-imaginary")
    assert "did you mean" not in str(err)
    assert "gw models --ids" in str(err)


def test_the_hint_survives_pickling() -> None:
    err = error_from_body(NO_CHANNEL, status_code=503, model="claude-sonet-4-6")
    assert str(pickle.loads(pickle.dumps(err))) == str(err)


@pytest.mark.parametrize("model", ["claude-sonet-4-6", "gpt-5.4-hcc"])
def test_the_emulator_unknown_model_answer_carries_the_hint(
    gateway_emulator: GatewayEmulator, model: str
) -> None:
    settings = Settings.resolve(
        api_key=gateway_emulator.api_key, base_url=gateway_emulator.base_url
    )
    gateway = Gateway(settings, policy=RetryPolicy(max_retries=0))
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ModelNotFoundError, match=r"did you mean (claude-sonnet-4-6|gpt-5\.4-hc)\?"):
        gateway.complete(body, parse(model))
    gateway_emulator.inject(Fault.model_not_found())
    with pytest.raises(ModelNotFoundError, match="is in the catalog"):
        gateway.complete({**body, "model": "gpt-5.4"}, parse("gpt-5.4"))


def test_a_404_points_at_the_base_url() -> None:
    err = error_from_body(
        {"error": {"message": "Invalid URL (POST /foo/v1/chat/completions)"}}, status_code=404
    )
    assert "check base_url / GW_BASE_URL" in str(err)
