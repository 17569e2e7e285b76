"""Print a streamed answer as it arrives, word-wrapped and indented under its heading."""

from __future__ import annotations

from typing import TextIO

__all__ = ["StreamPrinter"]


class StreamPrinter:
    """Feed it tokens; it writes each word as soon as the word is complete.

    Lines wrap at ``width`` columns and start with ``indent``; a newline in the text
    starts a new line, and a blank line (a paragraph break) is kept. :meth:`close` writes
    the last word and ends the line. ``text`` is everything fed, unchanged.
    """

    def __init__(self, out: TextIO, *, indent: str = "    ", width: int = 88) -> None:
        if width <= len(indent) + 10:
            raise ValueError(f"width must leave room for text after the indent, got {width}")
        self._out = out
        self._indent = indent
        self._width = width
        self._column = 0
        self._word: list[str] = []
        self._newlines = 0
        self._parts: list[str] = []

    @property
    def text(self) -> str:
        """The whole text fed so far."""
        return "".join(self._parts)

    def feed(self, token: str) -> None:
        """Take one streamed token and write whatever words it completes."""
        self._parts.append(token)
        for char in token:
            if char == "\n":
                self._emit_word()
                self._newlines += 1
            elif char.isspace():
                self._emit_word()
            else:
                self._word.append(char)
        self._out.flush()

    def close(self) -> None:
        """Write the last word and end the line."""
        self._emit_word()
        if self._column:
            self._out.write("\n")
            self._column = 0
        self._out.flush()

    def _emit_word(self) -> None:
        if not self._word:
            return
        word = "".join(self._word)
        self._word = []
        if self._column and self._newlines:
            self._out.write("\n" * min(self._newlines, 2))
            self._column = 0
        self._newlines = 0
        if self._column and self._column + 1 + len(word) > self._width:
            self._out.write("\n")
            self._column = 0
        if self._column:
            self._out.write(" ")
            self._column += 1
        else:
            self._out.write(self._indent)
            self._column = len(self._indent)
        self._out.write(word)
        self._column += len(word)
