"""The doctor's findings: one :class:`CheckResult` per check and model, and the report.

Safe to share by construction: every text that goes in (details, evidence) passes
through :func:`redact` when the result is made, which masks the keys the run used and
cuts prompt and answer texts to a short excerpt. Rendering (JSON for machines, Markdown
for people) masks the keys once more, so a report can be attached to a bug report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from gw_core.errors import scrub

__all__ = ["CheckResult", "DoctorReport", "Status", "excerpt", "redact"]

#: Longest excerpt of a prompt, an answer or an error message kept in a report.
EXCERPT_CHARS = 120


class Status(str, Enum):
    """``differs``: the gateway answered, but not as our emulator and library assume."""

    PASS = "pass"
    FAIL = "fail"
    DIFFERS = "differs"
    SKIPPED = "skipped"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters, with known keys masked."""
    one_line = " ".join(scrub(str(text)).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A JSON-like value with every string cut to an excerpt and ``secrets`` masked."""
    if isinstance(value, str):
        text = value
        for secret in secrets:
            if secret and secret in text:
                text = text.replace(secret, "***")
        return excerpt(text)
    if isinstance(value, Mapping):
        return {str(k): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return excerpt(repr(value))


@dataclass(frozen=True)
class CheckResult:
    """One check on one model (``model`` None: the check is about the gateway itself).

    ``assumes`` says what our library and emulator assume, ``where`` points at the code
    that holds the assumption (``module:function``); both matter most for ``differs``.
    """

    check: str
    model: str | None
    status: Status
    detail: str
    latency_ms: float | None = None
    ttft_ms: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    assumes: str = ""
    where: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "model": self.model,
            "status": self.status.value,
            "detail": self.detail,
            "latency_ms": _ms(self.latency_ms),
            "ttft_ms": _ms(self.ttft_ms),
            "evidence": self.evidence,
            "assumes": self.assumes,
            "where": list(self.where),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class DoctorReport:
    """Everything one run found, with what ran it (versions, gateway host, date)."""

    checks: list[CheckResult]
    library_version: str
    openai_version: str
    base_url_host: str
    date: str
    models: list[str]
    requests_sent: int = 0
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """True when nothing failed or differed (skipped checks are fine)."""
        return not any(c.status in (Status.FAIL, Status.DIFFERS) for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for c in self.checks if c.status is s) for s in Status}

    def to_dict(self) -> dict[str, Any]:
        return {
            "checks": [c.to_dict() for c in self.checks],
            "summary": self.counts(),
            "library_version": self.library_version,
            "openai_version": self.openai_version,
            "base_url_host": self.base_url_host,
            "date": self.date,
            "models": list(self.models),
            "requests_sent": self.requests_sent,
        }

    def to_json(self) -> str:
        return self._masked(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")

    def to_markdown(self) -> str:
        return self._masked(_markdown(self))

    def _masked(self, text: str) -> str:
        text = scrub(text)
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


_ICONS = {Status.PASS: "pass", Status.FAIL: "**FAIL**", Status.DIFFERS: "**differs**"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fmt_ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _markdown(report: DoctorReport) -> str:
    counts = report.counts()
    lines = [
        "# gw doctor report",
        "",
        f"- gateway host: `{report.base_url_host}`",
        f"- date: {report.date}",
        f"- gw-integrations {report.library_version}, openai {report.openai_version}",
        f"- models: {', '.join(f'`{m}`' for m in report.models)}",
        f"- requests sent: {report.requests_sent}",
        "- result: " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        "",
        "| check | model | status | detail | latency ms | first token ms |",
        "|---|---|---|---|---:|---:|",
    ]
    for c in report.checks:
        status = _ICONS.get(c.status, c.status.value)
        lines.append(
            f"| {c.check} | {c.model or '(gateway)'} | {status} | {_cell(c.detail)} "
            f"| {_fmt_ms(c.latency_ms)} | {_fmt_ms(c.ttft_ms)} |"
        )
    notable = [c for c in report.checks if c.status in (Status.FAIL, Status.DIFFERS)]
    if notable:
        lines += ["", "## Differences and failures", ""]
        for c in notable:
            lines += _details(c)
    return "\n".join(lines) + "\n"


def _details(c: CheckResult) -> list[str]:
    out = [f"### {c.check} on {c.model or 'the gateway'}: {c.status.value}", "", c.detail, ""]
    if c.assumes:
        out += [f"- we assume: {c.assumes}"]
    if c.where:
        out += [f"- where: {', '.join(f'`{w}`' for w in c.where)}"]
    if c.evidence:
        out += ["", "```json", json.dumps(c.evidence, indent=2, ensure_ascii=False), "```"]
    return [*out, ""]
