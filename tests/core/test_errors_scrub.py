"""The one scrubber: every key in use, whatever its length, cut short at an edge too."""

from __future__ import annotations

from gw_core import errors


def test_a_short_key_is_scrubbed_as_a_token_not_inside_words() -> None:
    errors.register_secret("Qz7")
    assert errors.scrub("key Qz7 was wrong; req-Qz7") == "key *** was wrong; req-***"
    assert errors.scrub("Qz7x stays") == "Qz7x stays"


def test_a_key_cut_short_at_either_edge_is_scrubbed() -> None:
    key = "sk-scrub-edge-0123456789"
    errors.register_secret(key)
    assert errors.scrub("upstream said " + key[:9]) == "upstream said ***"
    assert errors.scrub(key[-7:] + " was echoed") == "*** was echoed"


def test_an_excerpt_never_cuts_a_key_in_half() -> None:
    key = "sk-excerpt-abcdefghijklmnop"
    errors.register_secret(key)
    text = "x" * 30 + key + "y" * 100
    short = errors.excerpt(text, 40)
    assert key[:5] not in short and short.endswith("…")


def test_every_field_of_an_api_error_is_scrubbed() -> None:
    key = "sk-fields-0123456789"
    errors.register_secret(key)
    err = errors.error_from_body(
        {"error": {"message": f"bad {key}", "code": key, "type": key}},
        status_code=401,
        request_id=f"req-{key}",
        model=key,
    )
    texts = [str(err), repr(err), err.message, err.code, err.type, err.request_id, err.model]
    assert all(key not in (text or "") for text in texts)


def test_every_library_error_scrubs_its_message() -> None:
    key = "sk-malformed-0123456789"
    errors.register_secret(key)
    assert key not in str(errors.MalformedResponseError(f"body starting {key}"))
    assert key not in str(errors.GatewayConnectionError(key))
