"""LangChain's ``rate_limiter`` hook on the gateway's shared limiter (gw_core.limits).

LangChain calls ``acquire()`` before each model call but tells the limiter nothing about
the call; the token estimate comes from ``on_chat_model_start``, which LangChain runs
just before, in the same context. So the same object is both the rate limiter and an
inline callback handler: pass it as both to count tokens too::

    shared = RateLimiter(rpm=500, tpm=200_000, url="redis://limits:6379/0")
    limiter = GatewayRateLimiter(shared, model="gpt-5.4")
    llm = ChatGateway(model="gpt-5.4", rate_limiter=limiter, callbacks=[limiter])

Without the callback, requests are limited and tokens are not.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.rate_limiters import BaseRateLimiter

from gw_core.limits import RateLimiter
from gw_core.tokens import count_tokens

__all__ = ["GatewayRateLimiter"]

_pending_tokens: ContextVar[int] = ContextVar("gw_pending_tokens", default=0)


class GatewayRateLimiter(BaseRateLimiter, BaseCallbackHandler):
    """Requests (and, as a callback too, tokens) per minute for ``model``'s pool."""

    run_inline = True  # the estimate must be set in the caller's context, before acquire
    raise_error = True

    def __init__(self, limiter: RateLimiter, *, model: str, max_output_tokens: int = 0) -> None:
        self.limiter = limiter
        self.model = model
        self.max_output_tokens = max_output_tokens

    def __repr__(self) -> str:
        return f"GatewayRateLimiter({self.limiter!r}, model={self.model!r})"

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kwargs: Any
    ) -> None:
        prompt = sum(4 + count_tokens(m.text) for batch in messages for m in batch)
        _pending_tokens.set(prompt + self.max_output_tokens)

    def _take_tokens(self) -> int:
        tokens = _pending_tokens.get()
        _pending_tokens.set(0)
        return tokens

    def acquire(self, *, blocking: bool = True) -> bool:
        return self.limiter.acquire(self.model, self._take_tokens(), blocking=blocking)

    async def aacquire(self, *, blocking: bool = True) -> bool:
        return await self.limiter.aacquire(self.model, self._take_tokens(), blocking=blocking)
