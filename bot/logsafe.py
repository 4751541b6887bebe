"""Ids and user text as they may appear in a log line: escaped and bounded.

A sender id, a conversation id from a URL, an error quoting what a server answered: each comes from outside
and may hold a newline that would start a forged log line of its own, a terminal escape, a lone surrogate
that breaks a UTF-8 log file, or a megabyte. `loggable` renders any of them as one quoted, escaped piece.
"""
from __future__ import annotations

from typing import Any

DEFAULT_LIMIT = 200  # characters of the value shown; the log says when it was cut


def loggable(value: Any, limit: int = DEFAULT_LIMIT) -> str:
    """`value` as a quoted Python literal (repr escapes newlines, control and unprintable characters), cut to
    `limit` characters first and marked "..." after the quote when it was cut. Always one line."""
    text = value if isinstance(value, str) else str(value)
    shown = repr(text[:limit])
    return shown + "..." if len(text) > limit else shown


def first_line(err: BaseException) -> str:
    """An error's first line (a database driver's message goes on with the statement and its values), loggable."""
    return loggable((str(err).splitlines() or [err.__class__.__name__])[0])
