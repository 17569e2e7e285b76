"""The RAG demo: grounded, cited, streamed answers on the emulator; its parts on their own."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest

import gw_emulator
from gw_demo.app import DemoAnswer, Excerpt, run_demo
from gw_demo.backend import open_backend
from gw_demo.corpus import find_docs_dir, split_markdown, unwrap
from gw_demo.index import DocsIndex
from gw_demo.printer import StreamPrinter
from gw_demo.prompts import QUESTIONS, SYSTEM_PROMPT
from gw_emulator import GatewayEmulator
from tests.conftest import CANARY_KEY

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _sentences(excerpts: list[str]) -> set[str]:
    """Every line of the excerpts, and every sentence of every line."""
    found: set[str] = set()
    for excerpt in excerpts:
        for line in excerpt.splitlines():
            found.add(_norm(line))
            found.update(_norm(piece) for piece in _SENTENCE_END.split(line))
    found.discard("")
    return found


def _made_of(answer: str, pieces: set[str]) -> bool:
    """Whether ``answer`` is whole sentences (or lines) of the excerpts, joined by spaces."""
    words = _norm(answer).split(" ")
    reachable = [True] + [False] * len(words)
    for end in range(1, len(words) + 1):
        reachable[end] = any(
            reachable[start] and " ".join(words[start:end]) in pieces for start in range(end)
        )
    return reachable[-1]


class _CanaryEmulator(GatewayEmulator):
    """The emulator the demo starts, with a known key, remembered for assertions."""

    key: ClassVar[str] = CANARY_KEY
    started: ClassVar[list[GatewayEmulator]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["api_key"] = _CanaryEmulator.key
        super().__init__(*args, **kwargs)
        _CanaryEmulator.started.append(self)


@pytest.fixture
def demo_emulator(monkeypatch: pytest.MonkeyPatch) -> type[_CanaryEmulator]:
    monkeypatch.setattr(gw_emulator, "GatewayEmulator", _CanaryEmulator)
    _CanaryEmulator.started = []
    return _CanaryEmulator


def test_demo_on_the_emulator_gives_three_grounded_cited_answers_per_framework(
    demo_emulator: type[_CanaryEmulator], capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    answers = run_demo(out=out, progress=False)
    printed = out.getvalue()

    assert "Running on the embedded gateway emulator" in printed
    assert "GW_API_KEY is not set" in printed
    assert [(a.framework, a.question) for a in answers] == [
        (framework, question) for question in QUESTIONS for framework in ("LangChain", "LlamaIndex")
    ]
    for answer in answers:
        assert answer.excerpts, answer
        excerpts = [e.text for e in answer.excerpts]
        assert _made_of(answer.text, _sentences(excerpts)), (answer.framework, answer.text)
        for source in answer.files:
            assert source.startswith("docs/") and (ROOT / source).is_file()
            assert f"      {source}" in printed
        assert _norm(answer.text) in _norm(printed)
    # One index, one deterministic engine: both frameworks say the same thing.
    by_question: dict[str, set[str]] = {}
    for answer in answers:
        by_question.setdefault(answer.question, set()).add(answer.text)
    assert all(len(texts) == 1 for texts in by_question.values())

    # The video question is answered from the docs that say who takes video.
    video = next(a for a in answers if "video" in a.question)
    assert "Gemini" in video.text and "docs/multimodal.md" in video.files

    (emulator,) = demo_emulator.started
    assert not emulator.running
    captured = capsys.readouterr()
    assert demo_emulator.key not in printed + captured.out + captured.err


def test_demo_streams_every_answer_through_the_gateway_protocol(
    demo_emulator: type[_CanaryEmulator],
) -> None:
    question = "Which models accept video input?"
    run_demo(questions=[question], out=io.StringIO(), progress=False, model="claude-haiku-4-5")
    (emulator,) = demo_emulator.started
    chats = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 2  # one LangChain chain call, one LlamaIndex query
    for request in chats:
        assert request.status == 200
        assert request.body["stream"] is True
        assert request.body["model"] == "claude-haiku-4-5"
        system, user = request.body["messages"]
        assert system == {"role": "system", "content": SYSTEM_PROMPT}
        assert user["content"].rstrip().endswith(f"Question: {question}")
        assert "Gemini" in user["content"]  # the retrieved excerpts went to the model


def test_demo_uses_the_gateway_when_gw_api_key_is_set(
    gateway_env: GatewayEmulator, demo_emulator: type[_CanaryEmulator]
) -> None:
    out = io.StringIO()
    answers = run_demo(questions=["Which models accept video input?"], out=out, progress=False)
    printed = out.getvalue()
    assert "Running on the GW gateway at 127.0.0.1" in printed
    assert "GW_API_KEY is set" in printed
    assert demo_emulator.started == []  # no embedded emulator was started
    assert len([r for r in gateway_env.requests if r.status == 200]) == 2
    assert all("Gemini" in a.text for a in answers)
    assert gateway_env.api_key not in printed


def test_backend_on_the_gateway_holds_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_API_KEY", _CanaryEmulator.key)
    monkeypatch.setenv("GW_BASE_URL", "https://gw.example.test/gw_llm_power/v1")
    with open_backend() as backend:
        assert not backend.emulated
        assert backend.connection() == {}
        assert backend.title == "the GW gateway at gw.example.test"
        assert _CanaryEmulator.key not in repr(backend)


def test_demo_refuses_bad_arguments_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="--docs"):
        run_demo(docs_dir=tmp_path / "missing", out=io.StringIO(), progress=False)
    with pytest.raises(ValueError, match="questions"):
        run_demo(questions=["  "], out=io.StringIO(), progress=False)
    with pytest.raises(ValueError, match="k must be"):
        run_demo(k=0, out=io.StringIO(), progress=False)


# -- the parts ---------------------------------------------------------------------------------


def test_split_markdown_keeps_blocks_whole_under_their_heading_path() -> None:
    text = (
        "# Guide\n\nIntro line one\ncontinues here.\n\n## Setup\n\n- first item\n  wrapped\n"
        "- second item\n\n```python\nx = 1\n\ny = 2\n```\n\n### Deep\n\nDeep text.\n\n"
        "## Next\n\nNext text.\n"
    )
    chunks = split_markdown(text, "docs/guide.md")
    assert [(c.section, c.text) for c in chunks] == [
        ("Guide", "Intro line one continues here."),
        ("Guide > Setup", "- first item wrapped\n- second item\n\n```python\nx = 1\n\ny = 2\n```"),
        ("Guide > Setup > Deep", "Deep text."),
        ("Guide > Next", "Next text."),
    ]
    assert chunks[2].citation == "docs/guide.md (Deep)"
    assert len({c.id for c in chunks}) == len(chunks)


def test_split_markdown_starts_a_new_chunk_past_the_word_budget() -> None:
    paragraphs = [" ".join(f"w{p}x{i}" for i in range(30)) for p in range(5)]
    chunks = split_markdown("# T\n\n" + "\n\n".join(paragraphs), "docs/t.md", max_words=70)
    assert [c.text.count("\n\n") + 1 for c in chunks] == [2, 2, 1]
    assert "\n\n".join(c.text for c in chunks) == "\n\n".join(paragraphs)


def test_unwrap_leaves_tables_and_code_alone() -> None:
    table = "| a | b |\n|---|---|\n| 1 | 2 |"
    assert unwrap(table) == table
    assert unwrap("1. one\n   more\n2. two") == "1. one more\n2. two"


def test_index_ranks_the_chunk_that_answers_first(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Cats\n\nCats purr and chase mice at night.\n")
    (tmp_path / "b.md").write_text("# Boats\n\nSailing boats need wind; motor boats need fuel.\n")
    (tmp_path / "notes.txt").write_text("boats boats boats")  # not Markdown: not indexed
    index = DocsIndex.from_directory(tmp_path, progress=False)
    assert index.sources == [f"{tmp_path.name}/a.md", f"{tmp_path.name}/b.md"]
    hits = index.search("What do sailing boats need?", k=5)
    assert [h.chunk.source for h in hits] == [f"{tmp_path.name}/b.md"]
    assert index.search("unrelated zebra words") == []
    with pytest.raises(ValueError, match="k must be"):
        index.search("boats", k=0)


def test_index_of_the_project_docs_covers_every_page() -> None:
    from gw_demo.corpus import GENERATED_REPORTS

    index = DocsIndex.from_directory(DOCS, progress=False)
    written = {f"docs/{p.name}" for p in DOCS.glob("*.md") if p.name not in GENERATED_REPORTS}
    assert set(index.sources) == written
    assert find_docs_dir() == DOCS  # a checkout has no packaged copy: its own docs/
    top = index.search("Which models accept video input?", k=1)[0]
    assert top.chunk.source == "docs/multimodal.md"


def test_index_refuses_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no Markdown files"):
        DocsIndex.from_directory(tmp_path, progress=False)


def test_stream_printer_wraps_words_and_keeps_the_text() -> None:
    out = io.StringIO()
    printer = StreamPrinter(out, indent="  ", width=20)
    for token in ["The quick bro", "wn fox jumps ", "over the lazy dog.\n\nNew para", "graph."]:
        printer.feed(token)
    printer.close()
    assert out.getvalue() == (
        "  The quick brown\n  fox jumps over the\n  lazy dog.\n\n  New paragraph.\n"
    )
    assert printer.text == "The quick brown fox jumps over the lazy dog.\n\nNew paragraph."


def test_demo_answer_lists_each_file_once() -> None:
    answer = DemoAnswer(
        "LangChain",
        "q?",
        "a.",
        (
            Excerpt("docs/a.md", "A > x", "t"),
            Excerpt("docs/b.md", "B", "u"),
            Excerpt("docs/a.md", "A", "v"),
        ),
    )
    assert answer.files == ("docs/a.md", "docs/b.md")
    assert answer.excerpts[0].section_title == "x"


def test_generated_reports_stay_out_of_the_demo_corpus(tmp_path: Path) -> None:
    from gw_demo.corpus import markdown_files

    for name in ("overview.md", "benchmarks.md", "reliability.md", "streaming.md"):
        (tmp_path / name).write_text("# t\n\nText.\n")
    assert [p.name for p in markdown_files(tmp_path)] == ["overview.md", "streaming.md"]


def test_the_docs_shipped_in_the_package_come_before_the_checkout_and_the_cwd_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged, checkout, cwd = tmp_path / "packaged", tmp_path / "checkout", tmp_path / "cwd"
    for folder in (packaged, checkout, cwd / "docs"):
        folder.mkdir(parents=True)
        (folder / "page.md").write_text("# t\n\nText.\n")
    monkeypatch.chdir(cwd)
    assert find_docs_dir((packaged, checkout)) == packaged
    (packaged / "page.md").unlink()  # a folder with no Markdown does not count
    assert find_docs_dir((packaged, checkout)) == checkout
    (checkout / "page.md").unlink()
    assert find_docs_dir((packaged, checkout)) is None
