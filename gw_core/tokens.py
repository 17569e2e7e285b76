"""A small deterministic tokenizer that works offline.

Real tokenizers (tiktoken, SentencePiece) need vocabulary files that may have to be
downloaded; the adapters' ``get_num_tokens`` and the emulator's usage counts must work on
a machine with no network, and must give the same number every time. So we count the way
a BPE tokenizer roughly does, by regular expression:

- a run of letters (Latin, Cyrillic, ...) is one token, split every 8 characters so that
  long words cost more, as they do with BPE;
- a run of digits is split every 3 digits (``123456`` -> ``123``, ``456``);
- each CJK, kana or Hangul character is one token;
- every other non-space character (punctuation, symbols, emoji) is one token;
- whitespace is free.

The counts are an estimate for budgeting and tests, not a vendor's exact billing figure.
"""

from __future__ import annotations

import re

__all__ = ["count_tokens", "tokenize", "truncate"]

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN_RE = re.compile(
    rf"[{_CJK}]"  # one CJK / kana / Hangul character
    rf"|(?:(?![{_CJK}])[^\W\d_]){{1,8}}"  # up to 8 letters
    r"|\d{1,3}"  # up to 3 digits
    r"|[^\s]",  # any other visible character
)


def tokenize(text: str) -> list[str]:
    """Split ``text`` into tokens; whitespace is dropped, everything else is kept."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    """How many tokens :func:`tokenize` finds in ``text`` (0 for an empty string)."""
    return sum(1 for _ in _TOKEN_RE.finditer(text))


def truncate(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` holding at most ``max_tokens`` tokens.

    Cut right after the last kept token, so the prefix keeps its original spacing and
    ``count_tokens(truncate(t, n)) == min(n, count_tokens(t))``.
    """
    if max_tokens <= 0:
        return ""
    end = 0
    for index, match in enumerate(_TOKEN_RE.finditer(text)):
        if index == max_tokens:
            return text[:end]
        end = match.end()
    return text
