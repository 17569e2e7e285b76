"""Where the gateway is and how to reach it: from arguments first, then ``GW_*`` variables.

The API key is held as a :class:`pydantic.SecretStr`, so ``repr``/``str``/``model_dump``
show ``**********``; only :meth:`Settings.secret` hands out the clear text, and only the
client factory calls it.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from gw_core._async_http import async_http_choice
from gw_core.errors import GatewayInputError, register_secret, scrub

__all__ = [
    "DEFAULT_BASE_URL",
    "InsecureTransportWarning",
    "MissingAPIKeyError",
    "Settings",
]

#: The gateway's documented base (plain HTTP, as the gateway documents it).
DEFAULT_BASE_URL = "http://apillm.globalaiopc.com/gw_llm_power"

ENV_API_KEY = "GW_API_KEY"
ENV_BASE_URL = "GW_BASE_URL"
ENV_REQUIRE_HTTPS = "GW_REQUIRE_HTTPS"
ENV_TIMEOUT = "GW_TIMEOUT"


class MissingAPIKeyError(GatewayInputError):
    """No API key was given and ``GW_API_KEY`` is not set."""


class InsecureTransportError(GatewayInputError):
    """Plain ``http://`` to a remote host while ``GW_REQUIRE_HTTPS=1``."""


class InsecureTransportWarning(UserWarning):
    """The key is about to travel in clear text over plain HTTP to a remote host."""


_warned_hosts: set[str] = set()
_warn_lock = threading.Lock()


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def normalize_base_url(url: str) -> str:
    """The gateway base without a trailing ``/`` or ``/v1``; both spellings are accepted."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GatewayInputError(
            f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}; "
            f"got {scrub(_redact_url(url))!r}"
        )
    if parts.username or parts.password:
        raise GatewayInputError(
            "base_url must not carry credentials; pass the key as api_key or GW_API_KEY"
        )
    if parts.query or parts.fragment:
        raise GatewayInputError("base_url must not have a query string or fragment")
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password or parts.query:
        host = parts.hostname or ""
        return f"{parts.scheme}://{host}{parts.path}"
    return url


def check_transport_security(base_url: str) -> None:
    """Warn once per host (or refuse, under ``GW_REQUIRE_HTTPS=1``) on plain remote HTTP."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme != "http" or _is_loopback(host):
        return
    if _truthy(os.environ.get(ENV_REQUIRE_HTTPS)):
        raise InsecureTransportError(
            f"GW_REQUIRE_HTTPS=1 refuses plain http:// to {host}: use an https:// base_url "
            "or unset GW_REQUIRE_HTTPS"
        )
    with _warn_lock:
        if host in _warned_hosts:
            return
        _warned_hosts.add(host)
    warnings.warn(
        f"the gateway at {host} is plain http://: the API key travels unencrypted. "
        "Use https:// if the gateway offers it; set GW_REQUIRE_HTTPS=1 to refuse plain HTTP.",
        InsecureTransportWarning,
        stacklevel=3,
    )


@dataclass(frozen=True, repr=False)
class Settings:
    """One gateway endpoint and the knobs for reaching it.

    ``timeout`` bounds a whole non-streaming response; ``stream_chunk_timeout`` is the
    longest silence tolerated inside a stream (before its first chunk too, since keep-alive
    comments count as traffic); ``connect_timeout`` bounds the TCP/TLS handshake.
    """

    api_key: SecretStr
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 600.0
    connect_timeout: float = 10.0
    stream_chunk_timeout: float = 120.0
    default_headers: tuple[tuple[str, str], ...] = field(default=())
    # Size caps and the optional whole-stream deadline (docs/configuration.md, "Limits").
    max_response_bytes: int = 64 * 1024 * 1024
    max_error_body_bytes: int = 64 * 1024
    max_event_bytes: int = 16 * 1024 * 1024
    max_stream_bytes: int = 256 * 1024 * 1024
    stream_timeout: float | None = None
    #: The async HTTP library: "aiohttp" (default) or "sdk"; None reads GW_ASYNC_HTTP.
    async_http: str | None = None

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        stream_chunk_timeout: float | None = None,
        default_headers: dict[str, str] | None = None,
        **tunables: Any,
    ) -> Settings:
        """Arguments first, then ``GW_API_KEY`` / ``GW_BASE_URL`` / ``GW_TIMEOUT``.

        ``tunables`` are the size caps, ``stream_timeout`` and ``async_http``
        (:data:`TUNABLES`); None means the default.
        """
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if key is None:
            key = os.environ.get(ENV_API_KEY)
        if key is not None and not isinstance(key, str):  # never show the value: it is the key
            raise GatewayInputError(f"api_key must be a str, got {type(key).__name__}")
        if not key or not key.strip():
            raise MissingAPIKeyError(
                "no API key: pass api_key=... or set the GW_API_KEY environment variable"
            )
        register_secret(key.strip())  # before anything that might echo an argument
        url = normalize_base_url(base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        check_transport_security(url)
        if timeout is None and os.environ.get(ENV_TIMEOUT):
            try:
                timeout = float(os.environ[ENV_TIMEOUT])
            except ValueError:
                raise GatewayInputError(
                    f"GW_TIMEOUT must be a number of seconds; got {os.environ[ENV_TIMEOUT]!r}"
                ) from None
        values: dict[str, Any] = {"api_key": SecretStr(key.strip()), "base_url": url}
        for name, value in (
            ("timeout", timeout),
            ("connect_timeout", connect_timeout),
            ("stream_chunk_timeout", stream_chunk_timeout),
        ):
            if value is not None:
                if not isinstance(value, (int, float)) or value <= 0:
                    raise GatewayInputError(f"{name} must be a positive number of seconds")
                values[name] = float(value)
        if default_headers:
            if any(k.lower() == "authorization" for k in default_headers):
                raise GatewayInputError(
                    "default_headers must not set Authorization; pass the key as api_key"
                )
            values["default_headers"] = tuple(sorted(default_headers.items()))
        values.update(_check_tunables(tunables))
        return cls(**values)

    @property
    def api_base(self) -> str:
        """The OpenAI-style base the SDK wants (with ``/v1``)."""
        return self.base_url + "/v1"

    def secret(self) -> str:
        """The key in clear text: for the client factory's Authorization header only."""
        return self.api_key.get_secret_value()

    def __repr__(self) -> str:
        return (
            f"Settings(base_url={self.base_url!r}, api_key=SecretStr('**********'), "
            f"timeout={self.timeout:g}, stream_chunk_timeout={self.stream_chunk_timeout:g})"
        )

    __str__ = __repr__


#: Settings an adapter exposes as fields of the same name (docs/configuration.md, "Limits").
TUNABLES = (
    "max_response_bytes",
    "max_error_body_bytes",
    "max_event_bytes",
    "max_stream_bytes",
    "stream_timeout",
    "async_http",
)


def _check_tunables(tunables: dict[str, Any]) -> dict[str, Any]:
    """The caps, deadline and async library, checked; unset (None) values are dropped."""
    unknown = sorted(set(tunables) - set(TUNABLES))
    if unknown:
        raise GatewayInputError(f"unknown setting(s) {unknown}; known: {', '.join(TUNABLES)}")
    values: dict[str, Any] = {}
    for name, value in tunables.items():
        if value is None:
            continue
        if name == "async_http":
            values[name] = async_http_choice(value if isinstance(value, str) else repr(value))
        elif name == "stream_timeout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise GatewayInputError("stream_timeout must be a positive number of seconds")
            values[name] = float(value)
        else:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise GatewayInputError(f"{name} must be a positive whole number of bytes")
            values[name] = value
    return values
