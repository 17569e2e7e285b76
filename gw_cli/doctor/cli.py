"""``gw doctor``: the command line over :func:`gw_cli.doctor.run_doctor`.

Says what the run will cost before sending anything and asks on a terminal (``--yes``
skips the question; without a terminal it goes ahead, as scripts expect). Progress goes
to stderr, the Markdown report to stdout or ``--markdown PATH``, JSON to ``--json PATH``.
Exit status 0 when nothing failed or differed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, TextIO

from gw_cli.options import add_command, add_emulator_flag, gateway_settings

__all__ = ["register_doctor", "run_doctor_command"]


def register_doctor(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "doctor",
        run_doctor_command,
        help="check the gateway against what this library assumes, and report differences",
        description=(
            "Send a few small requests per model (plain, streamed, stop, image, video on\n"
            "Gemini, a tool round trip with the Gemini 3 signature echo, structured output,\n"
            "one family rule) plus a bad key and an unknown model, and report each check as\n"
            "pass, fail, differs (answered, but not as our emulator would) or skipped.\n"
            "Reads GW_API_KEY and GW_BASE_URL. The report never holds the key."
        ),
        epilog=(
            "examples:\n"
            "  gw doctor                              one model per family and dialect\n"
            "  gw doctor --models claude-opus-4-7,gemini-3-flash-preview --yes\n"
            "  gw doctor --models all --max-requests 200 --json doctor.json\n"
            "  gw doctor --emulator --yes             against the embedded emulator"
        ),
    )
    parser.add_argument(
        "--models",
        default="default",
        metavar="IDS",
        help="'default' (one per family and dialect), 'all' (the catalog) or ID,ID,...",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    parser.add_argument(
        "--markdown", metavar="PATH", help="write the Markdown report here instead of stdout"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before sending")
    parser.add_argument(
        "--max-requests", type=int, metavar="N", help="send at most N requests (skip the rest)"
    )
    add_emulator_flag(parser)


def _confirm(message: str, assume_yes: bool, stdin: TextIO) -> bool:
    print(message, file=sys.stderr, flush=True)
    if assume_yes or not stdin.isatty():
        return True
    print("Send them? [y/N] ", end="", file=sys.stderr, flush=True)
    return stdin.readline().strip().lower() in ("y", "yes")


def _progress(result: Any) -> None:
    model = result.model or "(gateway)"
    print(f"  {result.status.value:<8} {result.check:<20} {model}", file=sys.stderr, flush=True)


def _write(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def run_doctor_command(args: argparse.Namespace) -> int:
    from gw_cli.doctor.runner import plan_doctor, run_doctor
    from gw_cli.main import CommandError, _reported

    if args.max_requests is not None and args.max_requests < 1:
        raise CommandError(f"--max-requests must be at least 1, not {args.max_requests}")
    with _reported("doctor"), contextlib.ExitStack() as stack:
        plan = plan_doctor(args.models)
        settings = stack.enter_context(gateway_settings(args.emulator))
        host = settings.base_url.split("//", 1)[-1].split("/", 1)[0]
        message = plan.describe(host)
        if args.max_requests is not None and args.max_requests < plan.requests:
            message += f"; --max-requests {args.max_requests} skips the checks past that"
        if not _confirm(message, args.yes, sys.stdin):
            print("gw doctor: nothing sent", file=sys.stderr)
            return 1
        report = run_doctor(
            plan.models, settings=settings, max_requests=args.max_requests, on_result=_progress
        )
        markdown = report.to_markdown()
        if args.json:
            _write(args.json, report.to_json())
        if args.markdown:
            _write(args.markdown, markdown)
        else:
            print(markdown, end="")
    counts = ", ".join(f"{n} {status}" for status, n in report.counts().items() if n)
    print(f"gw doctor: {report.requests_sent} requests, {counts}", file=sys.stderr)
    return report.exit_code
