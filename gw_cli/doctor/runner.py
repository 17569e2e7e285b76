"""Plans a doctor run (which checks, how many requests, how many tokens at most) and runs it.

The plan is known before anything is sent, so the command can say what a run will cost
and ask first. Requests are sent one after another, never retried; ``max_requests`` is
a hard cap (a check that would cross it is skipped whole, never half-run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from gw_cli.doctor import checks
from gw_cli.doctor.context import SMALL_ANSWER, TOOL_ANSWER, Context
from gw_cli.doctor.gateway_checks import (
    bad_key_settings,
    check_auth,
    check_bad_key,
    check_models_endpoint,
    check_rate_limit_headers,
    check_unknown_model,
)
from gw_cli.doctor.probe import Budget, Probe
from gw_cli.doctor.report import CheckResult, DoctorReport, Status, excerpt
from gw_cli.doctor.tools_check import check_tools, tool_requests
from gw_core._version import __version__
from gw_core.catalog import Family, ModelSpec, all_ids, parse
from gw_core.errors import GatewayInputError
from gw_core.settings import Settings

__all__ = ["DEFAULT_MODELS", "CheckDef", "Plan", "plan_doctor", "run_doctor", "select_models"]

#: One model per family and dialect: GPT, Claude, Gemini 2.5, Gemini 3 (signed tool calls).
DEFAULT_MODELS = (
    "gpt-5.4",
    "claude-haiku-4-5",
    "gemini-2.5-flash-lite",
    "gemini-3.1-flash-lite-preview",
)

#: Prompt tokens allowed per request: text prompts are a few dozen tokens; an image or a
#: one-second video costs at most a few hundred on any of the three upstreams.
_TEXT_PROMPT = 200
_MEDIA_PROMPT = 1_500

Runner = Callable[[Context, ModelSpec], list[CheckResult]]


def _always(spec: ModelSpec) -> str | None:
    return None


def _gemini_only(spec: ModelSpec) -> str | None:
    if spec.family is Family.GEMINI:
        return None
    return "the gateway takes video on Gemini models only (the library refuses it locally)"


@dataclass(frozen=True)
class CheckDef:
    """A per-model check: what it records, what it costs, when it does not apply."""

    names: tuple[str, ...]
    run: Runner
    requests: Callable[[ModelSpec], int]
    completion_cap: int
    prompt_bound: int = _TEXT_PROMPT
    skip: Callable[[ModelSpec], str | None] = _always


def _one(spec: ModelSpec) -> int:
    return 1


PER_MODEL: tuple[CheckDef, ...] = (
    CheckDef(("plain",), checks.check_plain, _one, SMALL_ANSWER),
    CheckDef(("stream_end", "stream_usage"), checks.check_stream, _one, SMALL_ANSWER),
    CheckDef(("stop",), checks.check_stop, _one, SMALL_ANSWER),
    CheckDef(("image",), checks.check_image, _one, SMALL_ANSWER, _MEDIA_PROMPT),
    CheckDef(("video",), checks.check_video, _one, SMALL_ANSWER, _MEDIA_PROMPT, skip=_gemini_only),
    CheckDef(("tool_round_trip", "thought_signature"), check_tools, tool_requests, TOOL_ANSWER),
    CheckDef(("structured_output",), checks.check_structured, _one, TOOL_ANSWER),
    CheckDef(("family_rule",), checks.check_family_rule, _one, SMALL_ANSWER),
)
#: auth, /v1/models, the bad key and the unknown model.
_GATEWAY_REQUESTS = 4


def select_models(models: str | Sequence[str] | None) -> list[str]:
    """``None``/``"default"``: one per family and dialect; ``"all"``: the catalog;
    ``"a,b"`` or a list: those ids (any id is allowed, as everywhere in the library)."""
    if models is None or models == "default":
        return list(DEFAULT_MODELS)
    if models == "all":
        return all_ids()
    items = models.split(",") if isinstance(models, str) else list(models)
    chosen = list(dict.fromkeys(m.strip() for m in items if m and m.strip()))
    if not chosen:
        raise GatewayInputError(
            "--models needs 'default', 'all' or model ids separated by commas, "
            "e.g. --models gpt-5.4,claude-sonnet-4-6"
        )
    return chosen


@dataclass(frozen=True)
class Plan:
    """What a run will send: requests, and an upper bound on tokens."""

    models: tuple[str, ...]
    requests: int
    completion_tokens: int
    prompt_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.completion_tokens + self.prompt_tokens

    def describe(self, host: str) -> str:
        return (
            f"gw doctor will send {self.requests} requests to {host} for "
            f"{len(self.models)} model(s): at most {self.total_tokens:,} tokens "
            f"({self.completion_tokens:,} completion, capped by max_completion_tokens; "
            f"{self.prompt_tokens:,} prompt, a generous estimate)"
        )


def plan_doctor(models: str | Sequence[str] | None = None) -> Plan:
    """The requests and token bound of a run, before anything is sent."""
    chosen = select_models(models)
    requests = _GATEWAY_REQUESTS
    # /v1/models costs no tokens; auth, the bad key and the unknown model one answer each.
    completion = 3 * SMALL_ANSWER
    prompt = 3 * _TEXT_PROMPT
    for model in chosen:
        spec = parse(model)
        for check in PER_MODEL:
            if check.skip(spec) is None:
                count = check.requests(spec)
                requests += count
                completion += count * check.completion_cap
                prompt += count * check.prompt_bound
    return Plan(tuple(chosen), requests, completion, prompt)


def _run_model(ctx: Context, spec: ModelSpec, emit: Callable[[CheckResult], None]) -> None:
    for check in PER_MODEL:
        why = check.skip(spec)
        if why is None and not ctx.probe.budget.allows(check.requests(spec)):
            why = f"--max-requests {ctx.probe.budget.limit} reached"
        if why is not None:
            for name in check.names:
                emit(ctx.skipped(name, spec.id, why))
            continue
        try:
            found = check.run(ctx, spec)
        except Exception as exc:  # a bug in a check must not stop the run
            why = f"the check failed: {exc!r}"
            found = [ctx.result(name, spec.id, Status.FAIL, why) for name in check.names]
        for result in found:
            emit(result)


def run_doctor(
    models: str | Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    max_requests: int | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> DoctorReport:
    """Run every check against the configured gateway and return the report.

    ``settings`` (or ``api_key``/``base_url``, else ``GW_API_KEY``/``GW_BASE_URL``) say
    which gateway; ``on_result`` sees each finding as it is made (for progress output).
    """
    import openai

    if max_requests is not None and max_requests < 1:
        raise GatewayInputError(f"max_requests must be at least 1, not {max_requests}")
    chosen = select_models(models)
    settings = settings or Settings.resolve(api_key=api_key, base_url=base_url)
    bad_settings, bad_key = bad_key_settings(settings)
    secrets = (settings.secret(), bad_key)
    probe = Probe(settings, Budget(max_requests))
    ctx = Context(probe, secrets)
    found: list[CheckResult] = []

    def emit(result: CheckResult) -> None:
        found.append(result)
        if on_result is not None:
            on_result(result)

    _run_all(ctx, chosen, bad_settings, emit)
    return DoctorReport(
        checks=found,
        library_version=__version__,
        openai_version=openai.__version__,
        base_url_host=urlsplit(settings.base_url).hostname or "",
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        models=chosen,
        requests_sent=probe.budget.used,
        secrets=secrets,
    )


def _run_all(
    ctx: Context, chosen: list[str], bad_settings: Settings, emit: Callable[[CheckResult], None]
) -> None:
    auth, go_on = check_auth(ctx, chosen[0])
    emit(auth)
    if not go_on:
        _skip_rest(ctx, chosen, "the auth check failed", emit)
        return
    _gateway_check(ctx, emit, "models_endpoint", None, lambda: check_models_endpoint(ctx))
    for model_id in chosen:
        _run_model(ctx, parse(model_id), emit)
    first = chosen[0]
    _gateway_check(
        ctx, emit, "bad_key_error", first, lambda: check_bad_key(ctx, bad_settings, first)
    )
    _gateway_check(ctx, emit, "unknown_model_error", None, lambda: check_unknown_model(ctx))
    emit(check_rate_limit_headers(ctx))


def _gateway_check(
    ctx: Context,
    emit: Callable[[CheckResult], None],
    name: str,
    model: str | None,
    run: Callable[[], CheckResult],
) -> None:
    """One single-request gateway check, within the budget, never stopping the run."""
    if not ctx.probe.budget.allows(1):
        emit(ctx.skipped(name, model, f"--max-requests {ctx.probe.budget.limit} reached"))
        return
    try:
        emit(run())
    except Exception as exc:  # a bug in a check must not stop the run
        emit(ctx.result(name, model, Status.FAIL, f"the check failed: {excerpt(repr(exc))}"))


def _skip_rest(
    ctx: Context, chosen: list[str], why: str, emit: Callable[[CheckResult], None]
) -> None:
    emit(ctx.skipped("models_endpoint", None, why))
    for model_id in chosen:
        for check in PER_MODEL:
            for name in check.names:
                emit(ctx.skipped(name, model_id, why))
    emit(ctx.skipped("bad_key_error", chosen[0], why))
    emit(ctx.skipped("unknown_model_error", None, why))
    emit(ctx.skipped("rate_limit_headers", None, why))
