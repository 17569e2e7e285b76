"""``gw emulator`` as a user runs it, and the pytest fixtures from outside our package."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import openai
import pytest

from gw_cli import main as cli

from .support import ask

pytest_plugins = ["pytester"]


def _gw_command() -> list[str]:
    """The installed ``gw`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("gw")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from gw_cli.main import main; raise SystemExit(main())"]


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    process = subprocess.Popen(
        [*_gw_command(), "emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line


def test_gw_emulator_serves_and_stops_on_sigterm() -> None:
    process, line = _start("--port", "0", "--key", "cli-test-key-123")
    try:
        match = re.fullmatch(
            r"gw emulator: serving at (http://127\.0\.0\.1:\d+)  key: \(as given\)\n", line
        )
        assert match, line
        raw = openai.OpenAI(
            base_url=match.group(1) + "/v1", api_key="cli-test-key-123", max_retries=0
        )
        answer = raw.chat.completions.create(model="claude-haiku-4-5", messages=ask("ping"))
        assert answer.choices[0].message.content == "You said: ping"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0
    assert "POST /v1/chat/completions -> 200" in err  # the access log, without the key
    assert "cli-test-key-123" not in line + out + err


def test_gw_emulator_prints_a_generated_key_and_stops_on_ctrl_c() -> None:
    process, line = _start("--quiet")
    try:
        match = re.fullmatch(r"gw emulator: serving at (\S+)  key: (gw-emu-[0-9a-f]{24})\n", line)
        assert match, line
        raw = openai.OpenAI(base_url=match.group(1) + "/v1", api_key=match.group(2), max_retries=0)
        assert raw.models.list().data
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 0
    assert "->" not in err  # --quiet: no access log


def test_gw_emulator_serves_only_under_its_base_path() -> None:
    process, line = _start("--quiet", "--key", "cli-test-key-456", "--base-path", "/gw_llm_power")
    try:
        match = re.fullmatch(r"gw emulator: serving at (\S+/gw_llm_power)  key: .*\n", line)
        assert match, line
        served = openai.OpenAI(
            base_url=match.group(1) + "/v1", api_key="cli-test-key-456", max_retries=0
        )
        assert served.models.list().data
        root = match.group(1).removesuffix("/gw_llm_power")
        elsewhere = openai.OpenAI(base_url=root + "/v1", api_key="cli-test-key-456", max_retries=0)
        with pytest.raises(openai.NotFoundError):
            elsewhere.models.list()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_a_base_path_that_cannot_be_served_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["emulator", "--quiet", "--base-path", "gw_llm_power"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gw emulator: could not start the emulator: base_path must start with")
    assert err.count("\n") == 1


def test_an_emulator_that_fails_to_start_leaves_no_log_handler_behind(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = logging.getLogger("gw_emulator")
    before = list(log.handlers)
    assert cli.main(["emulator", "--base-path", "gw_llm_power"]) == 1  # not --quiet
    assert log.handlers == before
    assert capsys.readouterr().err.startswith("gw emulator: could not start the emulator")


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["emulator", "--port", "70000"]) == 1
    err = capsys.readouterr().err
    assert err == "gw emulator: --port must be between 0 and 65535, not 70000\n"
    assert cli.main([]) == 2  # no subcommand: help


def test_fixtures_work_from_a_test_file_outside_the_package(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user_app=textwrap.dedent(
            """
            import os

            import openai
            import pytest

            from gw_emulator import Fault, ScriptedReply


            def make_client():
                return openai.OpenAI(
                    base_url=os.environ["GW_BASE_URL"] + "/v1",
                    api_key=os.environ["GW_API_KEY"],
                    max_retries=0,
                )


            def test_my_app_with_a_scripted_reply(gateway_env, gateway_emulator):
                gateway_emulator.script(ScriptedReply(content="scripted"))
                reply = make_client().chat.completions.create(
                    model="gpt-5.4", messages=[{"role": "user", "content": "hi"}]
                )
                assert reply.choices[0].message.content == "scripted"
                assert gateway_emulator.request_count == 1


            def test_my_app_under_a_rate_limit(gateway_env, gateway_emulator):
                assert gateway_emulator.request_count == 0  # fresh log for each test
                gateway_emulator.inject(Fault.status(429))
                with pytest.raises(openai.RateLimitError):
                    make_client().chat.completions.create(
                        model="gpt-5.4", messages=[{"role": "user", "content": "hi"}]
                    )
            """
        )
    )
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)
