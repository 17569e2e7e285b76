"""Where the demo's requests go: the real gateway when ``GW_API_KEY`` is set, else an
emulator started for the run. The choice is made once and said plainly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gw_core.settings import ENV_API_KEY, Settings

__all__ = ["Backend", "open_backend"]


@dataclass(frozen=True)
class Backend:
    """Connection arguments for the adapters, and what to tell the user about them.

    ``title`` names where requests go; ``note`` says why and what that means for the
    answers. ``api_key``/``base_url`` are None on the gateway: the adapters read
    ``GW_API_KEY`` and ``GW_BASE_URL`` themselves, so the demo never holds the user's key.
    """

    emulated: bool
    title: str
    note: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None

    def connection(self) -> dict[str, str]:
        """Keyword arguments for ``ChatGateway``/``GatewayLLM`` (empty on the gateway)."""
        if not self.emulated:
            return {}
        assert self.api_key is not None and self.base_url is not None
        return {"api_key": self.api_key, "base_url": self.base_url}


@contextmanager
def open_backend() -> Iterator[Backend]:
    """Yield the backend for one run; an emulator started here is stopped on exit.

    On the gateway the settings are resolved first, so a bad ``GW_BASE_URL`` or
    ``GW_REQUIRE_HTTPS`` refusal fails before any indexing work.
    """
    if (os.environ.get(ENV_API_KEY) or "").strip():
        settings = Settings.resolve()
        host = urlsplit(settings.base_url).hostname or settings.base_url
        yield Backend(
            emulated=False,
            title=f"the GW gateway at {host}",
            note="GW_API_KEY is set, so every answer comes from the model on the gateway.",
        )
        return
    from gw_emulator import GatewayEmulator

    with GatewayEmulator() as emulator:
        yield Backend(
            emulated=True,
            title=f"the embedded gateway emulator at {emulator.base_url}",
            note=(
                "GW_API_KEY is not set, so nothing leaves this machine. The emulator speaks "
                "the gateway's protocol and answers with the retrieved sentences most "
                "relevant to each question (a deterministic engine, no model), so both "
                "frameworks give the same answer. Set GW_API_KEY to ask the real gateway."
            ),
            api_key=emulator.api_key,
            base_url=emulator.base_url,
        )
