"""The ``gw`` command: one entry point, one subcommand per job.

Each subcommand is a ``register`` function (adds its parser, sets ``handler``) listed in
:data:`COMMANDS`: ``gw models``, ``gw chat``, ``gw demo``, ``gw doctor`` and ``gw emulator``;
adding one is one more function and one more line there. Errors print one line (no traceback, never
the key) and exit 1; a mistyped command line exits 2, as argparse does. Heavy imports (the
openai SDK, the emulator, the demo's frameworks) happen inside the handlers, so
``gw --help`` and ``gw models`` stay fast and ``gw_core`` still imports no framework.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any, NoReturn

from gw_cli.batch import register_batch
from gw_cli.options import add_command, add_emulator_flag, add_progress_flag, gateway_settings

__all__ = ["COMMANDS", "build_parser", "main"]

SubParsers = Any  # argparse's _SubParsersAction is private; typed loosely on purpose.


class CommandError(Exception):
    """A failure to report as one line on stderr (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line pointing at ``--help`` (exit status 2, as argparse's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


# -- gw emulator -----------------------------------------------------------------------------


def register_emulator(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "emulator",
        run_emulator,
        help="run the gateway emulator on loopback (for tests and offline demos)",
        description=(
            "Serve the gateway contract on HTTP: POST {base}/v1/chat/completions and "
            "GET {base}/v1/models, in the GPT, Claude or Gemini dialect of the model id, "
            "answered by a deterministic engine (no model, no tokens spent). Prints one "
            "line with the base URL to use as GW_BASE_URL. The key is printed when it was "
            "generated (you need it as GW_API_KEY); a key you passed is shown as "
            "'(as given)'. Stop with Ctrl-C or SIGTERM."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument(
        "--key", default=None, help="API key clients must send (default: generated)"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request on stderr")
    parser.add_argument(
        "--base-path",
        default="",
        help="serve under this path only, as the gateway does (e.g. /gw_llm_power); default none",
    )


def run_emulator(args: argparse.Namespace) -> int:
    from gw_emulator import GatewayEmulator

    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be between 0 and 65535, not {args.port}")
    log = logging.getLogger("gw_emulator")
    handler: logging.Handler | None = None
    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    try:
        return _serve_emulator(GatewayEmulator, args)
    finally:  # called in-process (tests, notebooks), a handler must not outlive the call
        if handler is not None:
            log.removeHandler(handler)


def _serve_emulator(emulator_class: Any, args: argparse.Namespace) -> int:
    try:
        emulator = emulator_class(
            api_key=args.key, host=args.host, port=args.port, base_path=args.base_path
        ).start()
    except (RuntimeError, ValueError) as exc:
        raise CommandError(f"could not start the emulator: {exc}") from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    shown_key = "(as given)" if args.key else emulator.api_key
    print(f"gw emulator: serving at {emulator.base_url}  key: {shown_key}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emulator.stop()
    print("gw emulator: stopped", file=sys.stderr, flush=True)
    return 0


# -- gw models -------------------------------------------------------------------------------

_POOLS_NOTE = (
    "A base id alone is the standard pool; append -official, -hc (AWS or premium accounts), "
    "-fd (proxy or mixed accounts) or -low (budget) for the others, e.g. claude-sonnet-4-6-hc."
)


def register_models(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "models",
        run_models,
        help="list the models: family, pools, image/video input, context window",
        description=(
            "Print the gateway's model catalog, one row per base model: its family, the "
            "account pools it is offered in, what it takes besides text, its context window "
            "and its output limit (in tokens). Ids outside the catalog still work; their "
            "family is guessed from the prefix."
        ),
    )
    parser.add_argument("--family", choices=("gpt", "claude", "gemini"), help="one family only")
    parser.add_argument(
        "--ids", action="store_true", help="print every model id, one per line (for scripts)"
    )


def run_models(args: argparse.Namespace) -> int:
    from gw_core.catalog import BASES, all_ids, parse

    if args.ids:
        for model_id in all_ids():
            if args.family in (None, parse(model_id).family.value):
                print(model_id)
        return 0
    rows = [("BASE", "FAMILY", "POOLS", "INPUT", "CONTEXT", "MAX OUTPUT")]
    bases = [base for base in BASES if args.family in (None, base.family.value)]
    for base in bases:
        rows.append(
            (
                base.name,
                base.family.value,
                ", ".join(base.pools),
                "text, image, video" if base.video else "text, image",
                f"{base.context_window:,}",
                f"{base.max_output:,}",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:  # numbers right-aligned, text left-aligned
        cells = [
            cell.rjust(width) if column >= 4 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    note = f"{sum(len(base.pools) for base in bases)} model ids. {_POOLS_NOTE}"
    print("\n" + textwrap.fill(note, width=88))
    return 0


# -- gw chat ---------------------------------------------------------------------------------


def register_chat(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "chat",
        run_chat,
        help="send one prompt (with images or video) and print the answer",
        description=(
            "Send one prompt and print the answer on stdout; the model and pool that\n"
            "answered, the token usage and the finish reason go to stderr. Reads GW_API_KEY\n"
            "and GW_BASE_URL; --emulator answers offline, with no key."
        ),
        epilog=(
            "examples:\n"
            '  gw chat "Explain SSE in one sentence." --model claude-sonnet-4-6 --stream\n'
            '  gw chat "What is in this picture?" --model gpt-5.4 --image cat.png\n'
            '  gw chat "Summarise the clip." --model gemini-2.5-pro --video clip.mp4\n'
            '  gw chat "Hello" --model gpt-5.4 --emulator'
        ),
    )
    parser.add_argument("prompt", help="the question or instruction")
    parser.add_argument("--model", required=True, help="a model id such as gpt-5.4 (gw models)")
    parser.add_argument("--stream", action="store_true", help="print the answer as it arrives")
    parser.add_argument(
        "--image", action="append", default=[], metavar="PATH", help="attach an image (repeatable)"
    )
    parser.add_argument(
        "--video",
        action="append",
        default=[],
        metavar="PATH",
        help="attach a video (repeatable; Gemini models only)",
    )
    parser.add_argument("--system", metavar="TEXT", help="a system message to send first")
    parser.add_argument(
        "--temperature", type=float, metavar="T", help="sampling temperature (default: not sent)"
    )
    parser.add_argument("--max-tokens", type=int, metavar="N", help="cap the answer at N tokens")
    parser.add_argument(
        "--no-model-rules",
        action="store_true",
        help="send values the model's known upstream rules would refuse",
    )
    add_emulator_flag(parser)


def _attachment(path_name: str, kind: str) -> dict[str, Any]:
    """An image or video file as a content part (the wire layer checks type and size)."""
    import mimetypes
    from pathlib import Path

    from gw_core.wire import image_part, video_part

    path = Path(path_name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read --{kind} {path_name}: {exc.strerror or exc}") from None
    mime = mimetypes.guess_type(path.name)[0]
    if kind == "image":
        return image_part(data=data, mime_type=mime if mime and mime.startswith("image/") else None)
    if not mime or not mime.startswith("video/"):
        raise CommandError(
            f"cannot tell the video type of {path_name} from its name; use a file ending in "
            ".mp4, .mov, .webm, .mpeg or another video extension"
        )
    return video_part(data=data, mime_type=mime)


def _chat_messages(args: argparse.Namespace) -> list[dict[str, Any]]:
    from gw_core.wire import text_part

    media = [_attachment(p, "image") for p in args.image]
    media += [_attachment(p, "video") for p in args.video]
    content: Any = [text_part(args.prompt), *media] if media else args.prompt
    system = [{"role": "system", "content": args.system}] if args.system else []
    return [*system, {"role": "user", "content": content}]


def run_chat(args: argparse.Namespace) -> int:
    from gw_core.catalog import parse
    from gw_core.transport import Gateway
    from gw_core.wire import build_body, validate_messages

    if not args.prompt.strip():
        raise CommandError('the prompt is empty; for example: gw chat "Hello" --model gpt-5.4')
    with _reported("chat"), contextlib.ExitStack() as stack:
        spec = parse(args.model)
        messages = _chat_messages(args)
        validate_messages(spec, messages)
        params = {"temperature": args.temperature, "max_completion_tokens": args.max_tokens}
        body = build_body(
            spec, messages, params, stream=args.stream, check_model_rules=not args.no_model_rules
        )
        gateway = Gateway(stack.enter_context(gateway_settings(args.emulator)))
        if args.stream:
            stream = stack.enter_context(gateway.stream(body, spec))
            started = False
            try:
                for delta in stream:
                    print(delta.content, end="", flush=True)
                    started = True
            finally:
                if started:  # end the (maybe partial) answer's line before any error
                    print(flush=True)
            result, route = stream.result(), stream.route
        else:
            completion = gateway.complete(body, spec)
            result, route = completion.result, completion.route
            print(result.content)
    usage = result.usage
    tokens = (
        f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
        if usage
        else "no usage reported"
    )
    where = " · embedded emulator" if args.emulator else ""
    model = f"{route.model} (pool {route.pool})" if route else spec.id
    print(f"[{model} · {tokens} · finish: {result.finish_reason}{where}]", file=sys.stderr)
    return 0


# -- gw demo ---------------------------------------------------------------------------------


def register_demo(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "demo",
        run_demo_command,
        help="run the RAG demo: this project's docs answered by LangChain and LlamaIndex",
        description=(
            "Index this project's docs/ with BM25 (offline), then answer three questions "
            "about the library with a LangChain retrieval chain and a LlamaIndex query "
            "engine, streaming each answer and citing its source files. Runs on the real "
            "gateway when GW_API_KEY is set, else on an embedded emulator. Needs the demo "
            'extra: pip install "gw-integrations[demo]".'
        ),
    )
    parser.add_argument("--model", default="gpt-5.4", help="model id to ask (default gpt-5.4)")
    parser.add_argument(
        "--question",
        action="append",
        metavar="TEXT",
        help="ask this instead of the three built-in questions (repeatable)",
    )
    parser.add_argument(
        "--docs",
        metavar="DIR",
        help="folder of *.md files (default: this project's docs, shipped with it)",
    )
    parser.add_argument(
        "--top-k", type=int, default=4, metavar="K", help="excerpts per question (default 4)"
    )
    add_progress_flag(parser)


def run_demo_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    try:
        from gw_demo.app import run_demo
        from gw_demo.prompts import QUESTIONS
    except ImportError as exc:
        raise CommandError(
            f"the demo needs the demo extra ({exc.name} is missing): pip install "
            '"gw-integrations[demo]"'
        ) from None
    with _reported("demo"):
        run_demo(
            model=args.model,
            docs_dir=Path(args.docs) if args.docs else None,
            questions=args.question or QUESTIONS,
            k=args.top_k,
            progress=not args.no_progress,
        )
    return 0


@contextlib.contextmanager
def _reported(command: str) -> Iterator[None]:
    """Turn the library's errors into one-line :class:`CommandError` and warnings into
    one line each on stderr (never a traceback; messages never hold the key)."""
    from gw_core.errors import GatewayError
    from gw_core.settings import MissingAPIKeyError

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        print(f"gw {command}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            yield
        except MissingAPIKeyError as exc:
            hint = " (or add --emulator to try it offline)" if command == "chat" else ""
            raise CommandError(f"{exc}{hint}") from None
        except (GatewayError, ValueError, OSError) as exc:
            raise CommandError(_one_line(str(exc)) or type(exc).__name__) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted") from None


def _one_line(message: str) -> str:
    """The message on one line, with the key masked should a gateway echo it back."""
    from gw_core.errors import register_secret, scrub

    key = (os.environ.get("GW_API_KEY") or "").strip()
    if key:
        register_secret(key)  # any length; cut-short keys at an excerpt's edge too
    return " ".join(scrub(message).split())


# -- gw doctor -------------------------------------------------------------------------------


def register_doctor(subparsers: SubParsers) -> None:
    from gw_cli.doctor.cli import register_doctor as register

    register(subparsers)


# -- the command ------------------------------------------------------------------------------

#: One register function per subcommand, in the order ``gw --help`` lists them.
COMMANDS: list[Callable[[SubParsers], None]] = [
    register_models,
    register_chat,
    register_batch,
    register_demo,
    register_doctor,
    register_emulator,
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gw",
        description=(
            "The GW LLM gateway from the command line: list its models, send a prompt, run "
            "the RAG demo, or serve an offline emulator. GW_API_KEY and GW_BASE_URL say "
            "which gateway to use; see 'gw COMMAND --help' for each command."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gw`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except CommandError as exc:
        print(f"gw {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
