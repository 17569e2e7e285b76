"""Settings: arguments before GW_* variables, the key kept secret, plain HTTP flagged."""

from __future__ import annotations

import copy
import pickle
import warnings

import pytest
from pydantic import SecretStr

from gw_core.errors import GatewayInputError
from gw_core.settings import (
    DEFAULT_BASE_URL,
    InsecureTransportError,
    InsecureTransportWarning,
    MissingAPIKeyError,
    Settings,
)


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingAPIKeyError, match="GW_API_KEY") as info:
        Settings.resolve(base_url="http://127.0.0.1:1")
    assert isinstance(info.value, ValueError)


def test_blank_key_is_missing_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_API_KEY", "   ")
    with pytest.raises(MissingAPIKeyError):
        Settings.resolve(base_url="http://127.0.0.1:1")


def test_key_and_base_from_env(monkeypatch: pytest.MonkeyPatch, canary_key: str) -> None:
    monkeypatch.setenv("GW_API_KEY", canary_key)
    monkeypatch.setenv("GW_BASE_URL", "https://gw.example.test/gw_llm_power/")
    s = Settings.resolve()
    assert s.secret() == canary_key
    assert s.base_url == "https://gw.example.test/gw_llm_power"
    assert s.api_base == "https://gw.example.test/gw_llm_power/v1"


def test_arguments_win_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_API_KEY", "from-env")
    monkeypatch.setenv("GW_BASE_URL", "https://env.example.test")
    s = Settings.resolve(api_key=SecretStr("from-arg"), base_url="https://arg.example.test")
    assert s.secret() == "from-arg" and s.base_url == "https://arg.example.test"


@pytest.mark.parametrize(
    "given",
    [
        "https://gw.example.test/gw_llm_power",
        "https://gw.example.test/gw_llm_power/",
        "https://gw.example.test/gw_llm_power/v1",
        "https://gw.example.test/gw_llm_power/v1/",
        "  https://gw.example.test/gw_llm_power  ",
    ],
)
def test_base_url_with_or_without_v1(given: str) -> None:
    s = Settings.resolve(api_key="k", base_url=given)
    assert s.base_url == "https://gw.example.test/gw_llm_power"


def test_default_base_is_the_documented_one() -> None:
    with pytest.warns(InsecureTransportWarning):
        s = Settings.resolve(api_key="k")
    assert s.base_url == DEFAULT_BASE_URL


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("ftp://gw.example.test", "http"),
        ("gw.example.test/v1", "http"),
        ("https://user:pw@gw.example.test", "credentials"),
        ("https://gw.example.test/?key=abc", "query"),
    ],
)
def test_bad_base_urls_say_what_to_change(bad: str, match: str) -> None:
    with pytest.raises(GatewayInputError, match=match) as info:
        Settings.resolve(api_key="k", base_url=bad)
    assert "pw" not in str(info.value) and "abc" not in str(info.value)


def test_plain_http_to_remote_host_warns_once_naming_the_host() -> None:
    with pytest.warns(InsecureTransportWarning, match="gw.example.test") as record:
        Settings.resolve(api_key="k", base_url="http://gw.example.test/x")
        Settings.resolve(api_key="k", base_url="http://gw.example.test/y")
    assert len(record) == 1
    with pytest.warns(InsecureTransportWarning, match="other.example.test"):
        Settings.resolve(api_key="k", base_url="http://other.example.test")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://x.test"]
)
def test_loopback_and_https_do_not_warn(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Settings.resolve(api_key="k", base_url=url)


def test_require_https_refuses_plain_remote_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_REQUIRE_HTTPS", "1")
    with pytest.raises(InsecureTransportError, match="GW_REQUIRE_HTTPS"):
        Settings.resolve(api_key="k", base_url="http://gw.example.test")
    Settings.resolve(api_key="k", base_url="http://127.0.0.1:1")  # loopback stays allowed


def test_timeouts_validated_and_read_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_TIMEOUT", "12.5")
    s = Settings.resolve(api_key="k", base_url="https://x.test", stream_chunk_timeout=3)
    assert s.timeout == 12.5 and s.stream_chunk_timeout == 3.0
    with pytest.raises(GatewayInputError, match="positive"):
        Settings.resolve(api_key="k", base_url="https://x.test", timeout=0)
    monkeypatch.setenv("GW_TIMEOUT", "soon")
    with pytest.raises(GatewayInputError, match="GW_TIMEOUT"):
        Settings.resolve(api_key="k", base_url="https://x.test")


def test_authorization_cannot_hide_in_default_headers() -> None:
    with pytest.raises(GatewayInputError, match="Authorization"):
        Settings.resolve(
            api_key="k", base_url="https://x.test", default_headers={"authorization": "x"}
        )


def test_key_never_shows(canary_key: str) -> None:
    s = Settings.resolve(api_key=canary_key, base_url="https://x.test")
    for text in (repr(s), str(s), repr(s.api_key), str(s.api_key), f"{s}"):
        assert canary_key not in text
    clone = pickle.loads(pickle.dumps(s))
    assert clone.secret() == canary_key and canary_key not in repr(clone)
    assert canary_key not in repr(copy.deepcopy(s))
