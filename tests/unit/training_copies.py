"""What the trainer-loop tests share: copies of the project's folders to edit, the change log over them, their
bytes to compare, and another process holding the data folder's edit lock."""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Iterator

from bot import db
from bot.settings import ROOT
from bot.training.changes import TrainingChanges
from bot.training.nlu_data import NluData

HOLD_THE_LOCK = ("import sys, time; from pathlib import Path; from bot.training.nlu_data import editing\n"
                 "with editing(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(1.5)\n")


def copy_folders(into: Path, folders: Iterable[str] = ("data", "domain")) -> Path:
    for folder in folders:
        shutil.copytree(ROOT / folder, into / folder)
    return into


@contextlib.contextmanager
def change_log(project: Path) -> Iterator[TrainingChanges]:
    log = TrainingChanges(f"sqlite:///{project / 'bot.db'}", NluData(project / "data", project / "domain"))
    try:
        yield log
    finally:
        log.close()
        db.dispose_all()


def snapshot(root: Path, folders: Iterable[str] = ("data", "domain")) -> dict:
    """Every byte of the folders' files (not the edit lock's file)."""
    return {str(p.relative_to(root)): p.read_bytes() for folder in folders
            for p in sorted((root / folder).rglob("*")) if p.is_file() and p.name != ".edit.lock"}


@contextlib.contextmanager
def lock_held_elsewhere(data_dir: Path) -> Iterator[None]:
    """Another process holds the edit lock of `data_dir` for 1.5 s from when this block starts."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.wait(timeout=10)
