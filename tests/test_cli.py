"""The ``gw`` command's models, chat and demo subcommands (``gw emulator``: tests/emulator)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from gw_cli import main as cli
from gw_core.catalog import BASES, all_ids
from gw_emulator import Fault, GatewayEmulator
from tests.conftest import CANARY_KEY, run_gw

ROOT = Path(__file__).resolve().parent.parent


def _png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, red) PNG, made here so nothing is downloaded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# -- gw models ---------------------------------------------------------------------------------


def test_models_prints_one_row_per_base_with_its_facts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_gw(capsys, "models")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["BASE", "FAMILY", "POOLS", "INPUT", "CONTEXT", "MAX", "OUTPUT"]
    rows = {line.split()[0]: line for line in lines[1 : 1 + len(BASES)]}
    assert list(rows) == [base.name for base in BASES]
    for base in BASES:
        row = rows[base.name]
        assert f"  {base.family.value}  " in row
        assert ", ".join(base.pools) in row
        assert ("video" in row) is base.video
        assert row.endswith(f"{base.context_window:,}  {base.max_output:>10,}".rstrip())
    assert f"{len(all_ids())} model ids" in out


def test_models_ids_and_family_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_gw(capsys, "models", "--ids")
    assert code == 0 and out.split() == all_ids()
    code, out, _ = run_gw(capsys, "models", "--ids", "--family", "claude")
    assert code == 0 and out.split() == [i for i in all_ids() if i.startswith("claude")]
    code, out, _ = run_gw(capsys, "models", "--family", "gemini")
    table = out.split("\n\n")[0].splitlines()[1:]
    assert [row.split()[0] for row in table] == [
        b.name for b in BASES if b.family.value == "gemini"
    ]


# -- gw chat -----------------------------------------------------------------------------------


def test_chat_on_the_embedded_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    prompt = "Retries use one tenacity loop. Cats sleep. How do retries work?"
    code, out, err = run_gw(capsys, "chat", prompt, "--model", "claude-sonnet-4-6", "--emulator")
    assert code == 0
    assert out == "Retries use one tenacity loop.\n"
    assert err.startswith("[claude-sonnet-4-6 (pool standard) · ")
    assert "completion tokens · finish: stop · embedded emulator]" in err


def test_chat_streams_through_the_gateway_in_env(
    canary_gateway: GatewayEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = "Streams arrive in chunks of a few words each. What do streams arrive in?"
    code, out, err = run_gw(capsys, "chat", prompt, "--model", "gemini-3-flash-preview", "--stream")
    assert code == 0, err
    assert out == "Streams arrive in chunks of a few words each.\n"
    (request,) = canary_gateway.requests
    assert request.body["stream"] is True
    assert "temperature" not in request.body  # unset means not sent
    assert CANARY_KEY not in out + err


def test_chat_sends_images_and_video_as_content_parts(
    canary_gateway: GatewayEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "red.png"
    image.write_bytes(_png())
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    code, out, err = run_gw(
        capsys, "chat", "What is shown?", "--model", "gemini-2.5-pro",
        "--image", str(image), "--video", str(video), "--system", "Be brief.",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("I received 2 attachments.")
    system, user = canary_gateway.requests[0].body["messages"]
    assert system == {"role": "system", "content": "Be brief."}
    text, image_part, video_part = user["content"]
    assert text == {"type": "text", "text": "What is shown?"}
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
    assert video_part["image_url"]["url"].startswith("data:video/mp4;base64,")


def test_chat_parameters_are_sent_only_when_given(
    canary_gateway: GatewayEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_gw(
        capsys, "chat", "Say a long thing about tokens and limits.", "--model", "gpt-5.4",
        "--temperature", "0.3", "--max-tokens", "3",
    )  # fmt: skip
    assert code == 0, err
    body = canary_gateway.requests[0].body
    assert body["temperature"] == 0.3 and body["max_completion_tokens"] == 3
    assert "max_tokens" not in body
    assert "finish: length" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--model", "gpt-5.4"], "no API key: pass api_key=... or set the GW_API_KEY environment "
         "variable (or add --emulator to try it offline)"),
        (["--model", "gpt-5.4", "--emulator", "--video", "{clip}"], "gpt-5.4 cannot take video"),
        (["--model", "gpt-5.4", "--emulator", "--image", "{missing}"], "cannot read --image"),
        (["--model", "gpt-5.4", "--emulator", "--video", "{notes}"],
         "cannot tell the video type of"),
        (["--model", "claude-opus-4-7", "--emulator", "--temperature", "0.5"],
         "claude-opus-4-7 rejects 'temperature'"),
        (["--model", "gpt-9-turbo", "--emulator"], "503 ModelNotFoundError"),
    ],
)  # fmt: skip
def test_chat_errors_are_one_line(
    argv: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\x00" * 32)
    (tmp_path / "notes.txt").write_text("not a video")
    paths = {
        "clip": str(tmp_path / "clip.mp4"),
        "missing": str(tmp_path / "missing.png"),
        "notes": str(tmp_path / "notes.txt"),
    }
    argv = [arg.format(**paths) for arg in argv]
    code, out, err = run_gw(capsys, "chat", "Hello?", *argv)
    assert code == 1
    assert out == ""
    assert err.startswith("gw chat: ") and err.count("\n") == 1, err
    assert expected in err


def test_chat_never_prints_the_key_on_gateway_errors(
    canary_gateway: GatewayEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # A gateway that echoes the key back in its error message (OpenAI-style 401s do).
    message = f"Incorrect API key provided: {CANARY_KEY}"
    canary_gateway.inject(Fault.status(401, message=message))
    code, out, err = run_gw(capsys, "chat", "Hello?", "--model", "gpt-5.4")
    assert code == 1
    assert err == (
        "gw chat: 401 AuthenticationError: Incorrect API key provided: *** | model=gpt-5.4\n"
    )
    canary_gateway.inject(Fault.cut(after_chunks=1, done=True))  # [DONE], no finish_reason
    code, out, err = run_gw(
        capsys, "chat", "Tell me of streams. Why?", "--model", "gpt-5.4", "--stream"
    )
    assert code == 1
    assert err.startswith("gw chat: the stream ended without a finish_reason")
    assert err.count("\n") == 1
    assert out.strip() and out.endswith("\n")  # the partial answer was shown, its line ended
    assert CANARY_KEY not in out + err


def test_chat_with_a_wrong_key_says_so_without_showing_it(
    gateway_emulator: GatewayEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GW_API_KEY", CANARY_KEY)  # not the emulator's key
    monkeypatch.setenv("GW_BASE_URL", gateway_emulator.base_url)
    code, out, err = run_gw(capsys, "chat", "Hello?", "--model", "gpt-5.4", "--stream")
    assert code == 1 and out == ""
    assert err.startswith("gw chat: 401 AuthenticationError: ")
    assert CANARY_KEY not in err
    assert [r.status for r in gateway_emulator.requests] == [401]  # never retried


def test_chat_warns_in_one_line_on_plain_http_to_a_remote_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GW_API_KEY", CANARY_KEY)
    monkeypatch.setenv("GW_BASE_URL", "http://gw.invalid/gw_llm_power")
    monkeypatch.setenv("GW_REQUIRE_HTTPS", "1")
    code, _, err = run_gw(capsys, "chat", "Hello?", "--model", "gpt-5.4")
    assert code == 1
    assert err.startswith("gw chat: GW_REQUIRE_HTTPS=1 refuses plain http:// to gw.invalid")
    assert err.count("\n") == 1 and CANARY_KEY not in err


def test_usage_errors_are_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["chat", "Hello?"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == "gw chat: the following arguments are required: --model (see gw chat --help)\n"


# -- gw demo -----------------------------------------------------------------------------------


def test_demo_subcommand_answers_on_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    question = "Which models accept video input?"
    code, out, err = run_gw(capsys, "demo", "--question", question, "--no-progress", "--top-k", "2")
    assert code == 0, err
    assert "Running on the embedded gateway emulator" in out
    assert out.count(f"Question 1/1: {question}") == 1
    assert out.count("Only Gemini models accept video.") == 2  # LangChain and LlamaIndex
    assert "docs/multimodal.md" in out


def test_demo_subcommand_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_gw(capsys, "demo", "--docs", str(tmp_path / "none"), "--no-progress")
    assert code == 1 and out == ""
    assert err.startswith("gw demo: no docs/ folder with Markdown files in ")
    assert err.count("\n") == 1


def test_demo_without_the_demo_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "gw_demo.app", None)  # as if its imports were missing
    code, out, err = run_gw(capsys, "demo", "--no-progress")
    assert code == 1 and out == ""
    assert err.startswith("gw demo: the demo needs the demo extra (")
    assert err.endswith('pip install "gw-integrations[demo]"\n') and err.count("\n") == 1


# -- the console script ------------------------------------------------------------------------


def _gw(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    return subprocess.run(
        [sys.executable, "-m", "gw_cli.main", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_help_lists_every_subcommand_and_each_help_reads_alone() -> None:
    top = _gw("--help")
    assert top.returncode == 0
    for name in ("models", "chat", "demo", "emulator"):
        assert f"    {name} " in top.stdout
        sub = _gw(name, "--help")
        assert sub.returncode == 0 and sub.stdout.startswith(f"usage: gw {name}")
    assert "examples:" in _gw("chat", "--help").stdout


def test_error_in_a_fresh_process_is_one_line_without_traceback() -> None:
    done = _gw("chat", "Hello?", "--model", "gpt-5.4")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("gw chat: no API key") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_the_command_loads_no_framework_unless_the_demo_runs() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from gw_cli import main as cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['models'])\n"
        "    cli.main(['chat', 'Hi there. Who is there?', '--model', 'gpt-5.4', '--emulator'])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'langchain_core', 'llama_index', 'gw_demo', 'langchain_gw', 'llamaindex_gw'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
