"""Where the key travels: never along a redirect, never silently over plain HTTP, never
printed by the ``gw`` command or stored in a notebook."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gw_core import GatewayAPIError
from gw_core.settings import InsecureTransportError, InsecureTransportWarning
from gw_emulator import Fault, GatewayEmulator
from tests.reliability.drivers import ADAPTERS, PATHS, Adapter, FakeTime, build, run
from tests.reliability.drivers import Path as CallPath
from tests.reliability.secrets_check import CANARY_KEY

ROOT = Path(__file__).resolve().parents[2]

# -- redirects ---------------------------------------------------------------------------------


class _Seen(ThreadingHTTPServer):
    """A loopback server that records every request; answers a redirect or a completion."""

    daemon_threads = True

    def __init__(self, redirect_to: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.redirect_to = redirect_to
        self.requests: list[dict[str, str]] = []
        self.redirect_status = 307

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Seen
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.requests.append({k.lower(): v for k, v in self.headers.items()})
        if self.server.redirect_to is not None:
            self.send_response(self.server.redirect_status)
            self.send_header("location", self.server.redirect_to + self.path)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        # A valid completion: had the redirect been followed, the call would succeed.
        body = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "gpt-5.4",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "followed"},
                        "finish_reason": "stop",
                    }
                ],
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class Endpoint:
    """A server address and the key to send it: what :func:`build` needs."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.api_key = CANARY_KEY


@pytest.fixture(scope="module")
def _servers() -> Iterator[tuple[_Seen, _Seen]]:
    target = _Seen(None)
    source = _Seen(target.url)
    for server in (source, target):
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield source, target
    for server in (source, target):
        server.shutdown()
        server.server_close()


@pytest.fixture
def redirector(_servers: tuple[_Seen, _Seen]) -> tuple[_Seen, _Seen]:
    """(the "gateway" that answers a redirect, the other origin it points to)."""
    for server in _servers:
        server.requests.clear()
    return _servers


@pytest.mark.parametrize("status", [302, 307, 308])
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_redirects_are_not_followed(
    adapter: Adapter,
    path: CallPath,
    status: int,
    redirector: tuple[_Seen, _Seen],
    fake_time: FakeTime,
    close_async_clients: None,
) -> None:
    """A redirect to another origin is not followed (nor retried): the other origin never
    sees a request, let alone the Authorization header; the caller gets a typed error."""
    source, target = redirector
    source.redirect_status = status
    llm = build(adapter, Endpoint(source.url), "gpt-5.4", policy=fake_time.policy())
    out = await run(adapter, llm, path, "Hi?")
    assert target.requests == []
    assert len(source.requests) == 1
    assert source.requests[0]["authorization"] == f"Bearer {CANARY_KEY}"
    assert isinstance(out.error, GatewayAPIError), repr(out.error)
    assert out.error.status_code == status
    assert CANARY_KEY not in str(out.error)


# -- plain HTTP ----------------------------------------------------------------------------


def _construct(adapter: Adapter, base_url: str | None = None) -> Any:
    options: dict[str, Any] = {"api_key": CANARY_KEY}
    if base_url is not None:
        options["base_url"] = base_url
    if adapter == "langchain":
        from langchain_gw import ChatGateway

        return ChatGateway(model="gpt-5.4", **options)
    from llamaindex_gw import GatewayLLM

    return GatewayLLM(model="gpt-5.4", **options)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_plain_http_to_a_remote_host_warns_once_per_host(adapter: Adapter) -> None:
    """`http://` to a remote host warns once per host, naming the host, never the key;
    loopback and https stay silent. No request is made by constructing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _construct(adapter, "http://gateway.example.com/gw_llm_power")
        _construct(adapter, "http://gateway.example.com/gw_llm_power/v1")
        _construct(adapter, "http://other.example.net")
        _construct(adapter, "http://127.0.0.1:9")
        _construct(adapter, "http://localhost:9")
        _construct(adapter, "https://secure.example.com")
    insecure = [w for w in caught if issubclass(w.category, InsecureTransportWarning)]
    assert [str(w.message).split(" is plain")[0] for w in insecure] == [
        "the gateway at gateway.example.com",
        "the gateway at other.example.net",
    ]
    assert all(CANARY_KEY not in str(w.message) for w in caught)
    assert all("GW_REQUIRE_HTTPS" in str(w.message) for w in insecure)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_plain_http_from_the_environment_warns_too(
    adapter: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same warning when the address comes from GW_BASE_URL."""
    monkeypatch.setenv("GW_BASE_URL", "http://gateway.example.com")
    with pytest.warns(InsecureTransportWarning, match=r"gateway\.example\.com"):
        _construct(adapter)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_require_https_refuses_plain_http(
    adapter: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`GW_REQUIRE_HTTPS=1`: the constructor refuses plain `http://` to a remote host with
    a ValueError naming the host and the setting; https and loopback still construct."""
    monkeypatch.setenv("GW_REQUIRE_HTTPS", "1")
    with pytest.raises(InsecureTransportError) as caught:
        _construct(adapter, "http://gateway.example.com")
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert "gateway.example.com" in message and "GW_REQUIRE_HTTPS" in message
    assert CANARY_KEY not in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _construct(adapter, "https://gateway.example.com")
        _construct(adapter, "http://127.0.0.1:9")


# -- the gw command ----------------------------------------------------------------------------


def _gw(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    return subprocess.run(
        [sys.executable, "-m", "gw_cli.main", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_gw_emulator_does_not_print_a_given_key() -> None:
    """`gw emulator --key K` prints its address and "(as given)", never K."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gw_cli.main", "emulator", "--key", CANARY_KEY, "--port", "0"],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
    finally:
        process.terminate()
        out, err = process.communicate(timeout=120)
    assert line.startswith("gw emulator: serving at http://127.0.0.1:")
    assert "(as given)" in line
    assert CANARY_KEY not in line + out + err


@pytest.fixture
def canary_gateway() -> Iterator[GatewayEmulator]:
    with GatewayEmulator(api_key=CANARY_KEY) as emulator:
        yield emulator


@pytest.mark.parametrize(
    ("fault", "args", "expected"),
    [
        (
            Fault.status(401, message=f"Incorrect API key provided: {CANARY_KEY}"),
            (),
            "AuthenticationError",
        ),
        (Fault.cut(2), ("--stream",), "mid-stream"),
    ],
    ids=["401-echoing-the-key", "stream-cut"],
)
def test_gw_chat_errors_are_one_line_without_the_key(
    fault: Fault, args: tuple[str, ...], expected: str, canary_gateway: GatewayEmulator
) -> None:
    """`gw chat` on a gateway error: exit 1, one line on stderr, no traceback, no key,
    even when the gateway echoes the key back."""
    canary_gateway.inject(fault, times=3)
    done = _gw(
        "chat",
        "When was the dam finished?",
        "--model",
        "gpt-5.4",
        *args,
        env={"GW_API_KEY": CANARY_KEY, "GW_BASE_URL": canary_gateway.base_url},
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert CANARY_KEY not in done.stdout + done.stderr


# -- notebooks -----------------------------------------------------------------------------

#: Key-like strings: the emulator's generated keys, OpenAI-style keys, the canary, and a
#: bearer token that is not redacted.
_KEYLIKE = re.compile(
    r"gw-emu-[0-9a-f]{8,}|sk-[A-Za-z0-9_-]{16,}|CANARY|Bearer (?!\*\*\*)[A-Za-z0-9._-]{8,}"
)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks committed yet")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_key_anywhere_in_a_notebook_file(notebook: Path) -> None:
    """The whole committed .ipynb (outputs, metadata, widget state, attachments, sources)
    holds nothing key-like."""
    text = notebook.read_text(encoding="utf-8")
    json.loads(text)  # it is a notebook
    assert _KEYLIKE.findall(text) == []


def test_the_notebook_key_pattern_matches_keys() -> None:
    """The pattern above does find each kind of key (and not the redacted forms)."""
    for leak in (CANARY_KEY, "gw-emu-0123456789abcdef", "Bearer abcdefgh1234", "sk-" + "a" * 20):
        assert _KEYLIKE.search(f'"text": "{leak}"'), leak
    for fine in ("Bearer ***", "SecretStr('**********')", "api_key=os.environ['GW_API_KEY']"):
        assert not _KEYLIKE.search(fine), fine
