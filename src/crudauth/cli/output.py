"""Command output: text for people, JSON for machines, and a terminal progress bar.

Nothing here ever receives a password, token or raw session id: commands hand over
public handles and counts only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TextIO

__all__ = ["CommandError", "Output", "Progress", "format_table"]

PROGRESS_BAR_WIDTH = 30


class CommandError(Exception):
    """A command failed, with the message to print and the exit status.

    Args:
        message: What failed and what to do next.
        exit_code: The exit status: 1, or 2 when the command line itself was wrong.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class Output:
    """Write a command's result as text or, with ``as_json``, as one JSON document.

    Args:
        as_json: Print results and errors as JSON on stdout.
        stdout: Stream for results. Defaults to ``sys.stdout``.
        stderr: Stream for notes and text errors. Defaults to ``sys.stderr``.
    """

    def __init__(
        self, *, as_json: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.as_json = as_json
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def result(self, data: Any, text: str | Iterable[str]) -> None:
        """Print ``data`` as JSON, or ``text`` for people.

        Args:
            data: The result as JSON-ready data. Datetimes become ISO 8601 strings and
                other unknown values their ``str``.
            text: The result for people, as one string or as lines.
        """
        if self.as_json:
            print(json.dumps(data, default=_json_default, indent=2), file=self.stdout)
            return
        lines = [text] if isinstance(text, str) else list(text)
        for line in lines:
            print(line, file=self.stdout)

    def error(self, message: str) -> None:
        """Report a failure: a JSON ``error`` object, or ``error: ...`` on stderr.

        Args:
            message: What failed.
        """
        if self.as_json:
            print(json.dumps({"error": message}), file=self.stdout)
        else:
            print(f"error: {message}", file=self.stderr)

    def note(self, message: str) -> None:
        """Print a remark for people on stderr, so JSON on stdout stays parseable.

        Args:
            message: The remark.
        """
        print(f"note: {message}", file=self.stderr)

    def progress(self, label: str, total: int) -> Progress:
        """Return a progress bar on a terminal, or a silent counter otherwise.

        Args:
            label: Text shown before the bar.
            total: Number of steps.

        Returns:
            The progress bar, drawn on stdout only when it is a terminal and the
            output is not JSON.
        """
        interactive = not self.as_json and self.stdout.isatty()
        return Progress(label, total, self.stdout if interactive else None)


class Progress:
    """A one-line progress bar redrawn in place.

    Args:
        label: Text shown before the bar.
        total: Number of steps. A negative total counts as 0.
        stream: Where the bar is drawn, or ``None`` to draw nothing.
    """

    def __init__(self, label: str, total: int, stream: TextIO | None) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream
        self._draw()

    def advance(self, steps: int = 1) -> None:
        """Count ``steps`` more steps, up to the total, and redraw.

        Args:
            steps: Steps completed since the last call.
        """
        self.done = min(self.done + steps, self.total)
        self._draw()

    def finish(self) -> None:
        """Draw the bar full and end its line."""
        self.done = self.total
        self._draw()
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if self.stream is None:
            return
        share = self.done / self.total if self.total else 1.0
        filled = int(PROGRESS_BAR_WIDTH * share)
        bar = "#" * filled + "-" * (PROGRESS_BAR_WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
        self.stream.flush()


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Lay ``rows`` out in left-aligned columns under ``headers``.

    Args:
        headers: Column titles.
        rows: Rows with one value per column; each value is shown as its ``str``.

    Returns:
        The header line followed by one line per row, without trailing spaces.
    """
    cells = [[str(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return lines
