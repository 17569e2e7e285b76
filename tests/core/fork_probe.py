"""Run by tests/core/test_fork_safety.py in a fresh, single-threaded interpreter.

The parent pools a keep-alive connection, forks (multiprocessing's fork start method),
then parent and child send distinct prompts at the same time. Prints one JSON line:
what each process asked, what it got back, and whether the child was handed the
parent's client.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from typing import Any

from gw_core.catalog import parse
from gw_core.settings import Settings
from gw_core.transport import Gateway

CALLS = 25
SPEC = parse("gpt-5.4")


def ask(gateway: Gateway, word: str) -> tuple[str, str]:
    body = {"model": SPEC.id, "messages": [{"role": "user", "content": f"Say {word} back."}]}
    return word, gateway.complete(body, SPEC).result.content


def run(gateway: Gateway, who: str, barrier: Any) -> list[tuple[str, str]]:
    barrier.wait(timeout=60)
    return [ask(gateway, f"{who}-{i}-token") for i in range(CALLS)]


def child(gateway: Gateway, parent_client: object, conn: Any, barrier: Any) -> None:
    inherited = gateway.clients.sync() is parent_client
    conn.send({"inherited": inherited, "child": run(gateway, "child", barrier)})
    conn.close()


def main(api_key: str, base_url: str) -> None:
    gateway = Gateway(Settings.resolve(api_key=api_key, base_url=base_url))
    ask(gateway, "warmup")  # the parent now holds a pooled keep-alive connection
    parent_client = gateway.clients.sync()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=child, args=(gateway, parent_client, send, barrier))
    process.start()
    answers = run(gateway, "parent", barrier)
    report = receive.recv()
    process.join(60)
    print(json.dumps({"parent": answers, "exitcode": process.exitcode, **report}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
