"""What the transport and streaming tests share: a policy that records its waits, one body."""

from __future__ import annotations

from typing import Any

from gw_core.catalog import parse
from gw_core.retry import RetryPolicy
from gw_core.settings import Settings
from gw_core.transport import Gateway
from gw_core.wire.params import build_body
from gw_emulator import GatewayEmulator

CONTEXT = (
    "The retry policy waits for Retry-After. Pools pick an account group. "
    "Bananas are yellow. Streams are retried only before their first chunk."
)
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": CONTEXT},
    {"role": "user", "content": "When are streams retried?"},
]


class Sleeps(list[float]):
    """Records the waits the policy asked for, without sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


def gateway(
    emu: GatewayEmulator, sleeps: Sleeps, *, pools: tuple[str, ...] = (), **settings: Any
) -> Gateway:
    """A gateway on the emulator whose retries sleep into ``sleeps`` (no jitter)."""
    s = Settings.resolve(api_key=emu.api_key, base_url=emu.base_url, **settings)
    policy = RetryPolicy(sleep=sleeps, asleep=sleeps.asleep, jitter=0)
    return Gateway(s, policy=policy, pools=pools)


def body(model: str, *, stream: bool = False) -> dict[str, Any]:
    """The test conversation, shaped for ``model``."""
    return build_body(parse(model), MESSAGES, {}, stream=stream)
