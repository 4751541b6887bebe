"""`python -m bot.rasa_server <rasa run options>`: Rasa's own `rasa run`, with the API token from RASA_TOKEN.

Rasa 3.6 reads its token only from `--auth-token`, and a command line is public: every user of the machine
sees it in `ps`. This process starts without it and hands it to Rasa's argument parser in memory (what `ps`
shows is the command line the process was started with, not sys.argv).
"""
from __future__ import annotations

import sys
from typing import List, Sequence

from bot.settings import get_settings


def rasa_argv(options: Sequence[str], token: str) -> List[str]:
    # "--auth-token=": a generated token may start with "-", which argparse would take for an option
    return ["rasa", "run", *options, f"--auth-token={token}"]


def main() -> None:
    from rasa.__main__ import main as rasa_main

    from bot import rasa_actions

    rasa_actions.install()
    sys.argv = rasa_argv(sys.argv[1:], get_settings().rasa_token)
    rasa_main()


if __name__ == "__main__":
    main()
