"""The HTTP/1.1 layer on raw sockets: routing, keep-alive, request bodies, bad input."""

from __future__ import annotations

import json
import socket
from typing import Any

import openai
import pytest

from gw_emulator import GatewayEmulator


def _exchange(emu: GatewayEmulator, raw: bytes, *, sock: socket.socket | None = None) -> bytes:
    """Send ``raw`` and read one full response (Content-Length framed)."""
    own = sock is None
    sock = sock or socket.create_connection(("127.0.0.1", emu.port), timeout=5)
    try:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += sock.recv(65536)
        return head + b"\r\n\r\n" + body
    finally:
        if own:
            sock.close()


def _post(emu: GatewayEmulator, path: str, body: dict[str, object], extra: str = "") -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {emu.api_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n{extra}\r\n"
    )
    return head.encode() + payload


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _json(response: bytes) -> dict[str, object]:
    result: dict[str, object] = json.loads(response.partition(b"\r\n\r\n")[2])
    return result


BODY: dict[str, object] = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hello"}]}


def test_chat_is_served_at_the_root_by_default(emu: GatewayEmulator) -> None:
    response = _exchange(emu, _post(emu, "/v1/chat/completions", BODY))
    assert _status(response) == 200
    assert _json(response)["object"] == "chat.completion"
    assert emu.requests[-1].path == "/v1/chat/completions"


@pytest.mark.parametrize("prefix", ["/gw_llm_power", "/a/b", "/v1"])
def test_a_path_under_another_base_is_404_naming_the_served_path(
    emu: GatewayEmulator, prefix: str
) -> None:
    response = _exchange(emu, _post(emu, f"{prefix}/v1/chat/completions", BODY))
    assert _status(response) == 404
    error: Any = _json(response)["error"]
    assert error["code"] == "not_found"
    assert f"{prefix}/v1/chat/completions" in error["message"]
    assert "serves POST /v1/chat/completions" in error["message"]


def test_keep_alive_serves_several_requests_on_one_connection(emu: GatewayEmulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        for _ in range(3):
            response = _exchange(emu, _post(emu, "/v1/chat/completions", BODY), sock=sock)
            assert _status(response) == 200
    assert emu.request_count == 3


def test_connection_close_is_honoured(emu: GatewayEmulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        raw = _post(emu, "/v1/chat/completions", BODY, extra="Connection: close\r\n")
        response = _exchange(emu, raw, sock=sock)
        assert b"connection: close" in response.lower()
        assert sock.recv(10) == b""  # the server closed its side


def test_chunked_request_body_is_accepted(emu: GatewayEmulator) -> None:
    payload = json.dumps(BODY).encode()
    half = len(payload) // 2
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        half,
        payload[:half],
        len(payload) - half,
        payload[half:],
    )
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {emu.api_key}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    response = _exchange(emu, head + chunks)
    assert _status(response) == 200
    assert emu.requests[-1].body == BODY


def test_body_split_across_packets_and_expect_continue(emu: GatewayEmulator) -> None:
    raw = _post(emu, "/v1/chat/completions", BODY, extra="Expect: 100-continue\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(head + b"\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        response = _exchange(emu, body, sock=sock)
    assert _status(response) == 200


def test_unknown_path_is_404_json(emu: GatewayEmulator) -> None:
    response = _exchange(emu, _post(emu, "/v1/embeddings", BODY))
    assert _status(response) == 404
    assert _json(response)["error"]["code"] == "not_found"  # type: ignore[index]


def test_wrong_method_is_405_with_allow(emu: GatewayEmulator) -> None:
    raw = (
        "GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {emu.api_key}\r\n\r\n"
    )
    response = _exchange(emu, raw.encode())
    assert _status(response) == 405
    assert b"allow: POST" in response


def test_malformed_request_line_is_400(emu: GatewayEmulator) -> None:
    response = _exchange(emu, b"NONSENSE\r\n\r\n")
    assert _status(response) == 400


def test_body_that_is_not_json_is_400(emu: GatewayEmulator) -> None:
    raw = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {emu.api_key}\r\n"
        "Content-Length: 5\r\n\r\n{nope"
    ).encode()
    response = _exchange(emu, raw)
    assert _status(response) == 400
    assert emu.requests[-1].body is None


def test_models_lists_every_catalog_id(client: openai.OpenAI) -> None:
    from gw_core.catalog import all_ids

    ids = [model.id for model in client.models.list()]
    assert sorted(ids) == sorted(all_ids())


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", "Basic abc"])
def test_missing_or_wrong_key_is_401(emu: GatewayEmulator, header: str | None) -> None:
    auth = f"Authorization: {header}\r\n" if header else ""
    payload = json.dumps(BODY)
    raw = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{auth}"
        f"Content-Length: {len(payload)}\r\n\r\n{payload}"
    ).encode()
    response = _exchange(emu, raw)
    assert _status(response) == 401
    error = _json(response)["error"]
    assert isinstance(error, dict) and error["code"] == "invalid_api_key"
    assert emu.requests[-1].status == 401


def test_wrong_key_raises_authentication_error_and_log_is_redacted(emu: GatewayEmulator) -> None:
    bad = openai.OpenAI(base_url=emu.base_url + "/v1", api_key="sk-not-it", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    good = openai.OpenAI(base_url=emu.base_url + "/v1", api_key=emu.api_key, max_retries=0)
    good.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    logged = [r.headers["authorization"] for r in emu.requests]
    assert logged == ["Bearer ***", "Bearer ***"]
    assert emu.api_key not in repr(emu.requests) and "sk-not-it" not in repr(emu.requests)


def test_an_engine_failure_is_a_500_not_a_dead_connection(
    emu: GatewayEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gw_emulator import engine

    def broken(body: object) -> None:
        raise RuntimeError("engine bug")

    monkeypatch.setattr(engine, "answer", broken)
    response = _exchange(emu, _post(emu, "/v1/chat/completions", BODY))
    assert _status(response) == 500
    assert _json(response)["error"]["code"] == "emulator_bug"  # type: ignore[index]
