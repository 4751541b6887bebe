"""Runtime files only the bot's own user may read: secrets, SQLite databases, logs, the embedded Redis's data.

Every process the bot starts runs with PRIVATE_UMASK, so what it creates is 0600 (files) and 0700 (folders),
and the var folder is made, or tightened to, 0700, which also covers files an older version left readable.
Standard library only: bot.settings uses it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Iterator

logger = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """`path`, made if missing, open to its owner only. A shared folder (sticky bit, like /tmp) is left as it is."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = path.stat().st_mode
    if mode & 0o077 and not mode & stat.S_ISVTX:
        path.chmod(0o700)
    elif mode & 0o077:
        logger.warning("%s is a shared folder; runtime data belongs in a folder of its own (BOT_VAR_DIR)", path)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` (mode 0600 from the first byte, and tightened if the file was there before)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def open_private_log(path: Path) -> BinaryIO:
    """`path` opened for appending, binary, made 0600 if new (a child process's log)."""
    private_dir(path.parent)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")


def kept_secret(path: Path) -> str:
    """A random secret made once and kept in `path`, so every process and every restart share it. Two processes
    starting at once agree: the file appears whole (a link to a finished file) or not at all."""
    path = Path(path)
    if not path.exists():
        private_dir(path.parent)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        write_private(draft, secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: theirs it is
        finally:
            draft.unlink()
    return path.read_text(encoding="utf-8").strip()


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files and folders this process creates meanwhile are its user's alone."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)
