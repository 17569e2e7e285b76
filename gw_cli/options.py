"""What several ``gw`` subcommands share: how a subcommand is added, the options more
than one of them takes (``--emulator``, ``--no-progress``) and where ``--emulator`` sends
requests. One spelling and one help text per option, whichever command shows it.

Nothing here imports the openai SDK or the emulator at import time: ``gw --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gw_core.settings import Settings

__all__ = ["add_command", "add_emulator_flag", "add_progress_flag", "gateway_settings"]

Handler = Callable[[argparse.Namespace], int]


def add_command(
    subparsers: Any,
    name: str,
    handler: Handler,
    *,
    help: str,
    description: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand's parser; with an ``epilog`` (examples), the description's and the
    epilog's line breaks are kept as written."""
    options: dict[str, Any] = {"help": help, "description": description}
    if epilog is not None:
        options.update(epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser: argparse.ArgumentParser = subparsers.add_parser(name, **options)
    parser.set_defaults(handler=handler)
    return parser


def add_emulator_flag(parser: argparse.ArgumentParser) -> None:
    """``--emulator``: run against an embedded emulator (see :func:`gateway_settings`)."""
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="use an embedded emulator instead of the gateway (offline, no key)",
    )


def add_progress_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress output")


@contextlib.contextmanager
def gateway_settings(emulator: bool) -> Iterator[Settings]:
    """The gateway to talk to: an embedded emulator for the block's duration with
    ``--emulator``, else the one ``GW_API_KEY`` and ``GW_BASE_URL`` name."""
    from gw_core.settings import Settings

    if not emulator:
        yield Settings.resolve()
        return
    from gw_emulator import GatewayEmulator

    with GatewayEmulator() as running:
        yield Settings.resolve(api_key=running.api_key, base_url=running.base_url)
