"""What every check needs: the probe that sends, and one way to record a finding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gw_cli.doctor.contract import ASSUMPTIONS
from gw_cli.doctor.probe import Exchange, Probe
from gw_cli.doctor.report import CheckResult, Status, excerpt, redact

__all__ = ["Context", "first_choice", "user"]

#: Completion cap for checks whose answer is a few words.
SMALL_ANSWER = 128
#: Completion cap for tool calls and JSON answers (reasoning models think first).
TOOL_ANSWER = 512


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def first_choice(body: Any) -> dict[str, Any]:
    """``choices[0]`` of a completion body, or an empty dict."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return {}


@dataclass
class Context:
    """The probe and the secrets to mask in everything recorded."""

    probe: Probe
    secrets: tuple[str, ...]

    def result(
        self,
        check: str,
        model: str | None,
        status: Status,
        detail: str,
        exchange: Exchange | None = None,
        **evidence: Any,
    ) -> CheckResult:
        """A finding; evidence is the exchange's plus ``evidence``, redacted.

        The assumption and its code pointers are attached to every finding that is not
        a pass or a skip, so a reader of ``differs`` knows what to revisit.
        """
        data = exchange.evidence() if exchange is not None else {}
        data.update(evidence)
        notable = status in (Status.DIFFERS, Status.FAIL)
        assumption = ASSUMPTIONS.get(check)
        return CheckResult(
            check=check,
            model=model,
            status=status,
            detail=excerpt(_mask(detail, self.secrets), 400),
            latency_ms=exchange.latency_ms if exchange is not None else None,
            ttft_ms=exchange.ttft_ms if exchange is not None else None,
            evidence=redact(data, self.secrets),
            assumes=assumption.says if assumption and notable else "",
            where=assumption.where if assumption and notable else (),
        )

    def failed(self, check: str, model: str | None, exchange: Exchange) -> CheckResult:
        """A request that got no usable answer: the status and the gateway's message."""
        return self.result(check, model, Status.FAIL, describe_failure(exchange), exchange)

    def skipped(self, check: str, model: str | None, why: str) -> CheckResult:
        return self.result(check, model, Status.SKIPPED, why)


def describe_failure(exchange: Exchange) -> str:
    if exchange.status is None:
        return exchange.error or "no answer"
    err = exchange.error_object()
    message = err.get("message") if err else None
    if message is None:
        message = exchange.text or "(empty body)"
    return f"HTTP {exchange.status}: {excerpt(str(message), 160)}"


def _mask(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
