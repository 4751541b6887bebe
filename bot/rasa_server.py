"""`python -m bot.rasa_server <rasa run options>`: Rasa's own `rasa run`, with the API token from RASA_TOKEN.

Rasa 3.6 reads its token only from `--auth-token`, and a command line is public: every user of the machine
sees it in `ps`. This process starts without it and hands it to Rasa's argument parser in memory (what `ps`
shows is the command line the process was started with, not sys.argv).
"""
from __future__ import annotations

import sys
from typing import List, Sequence

from bot.settings import ENV_RASA_LOCK_LIFETIME, LOCK_SAVE_MARGIN_SECONDS, Settings, SettingsError, get_settings


def rasa_argv(options: Sequence[str], token: str) -> List[str]:
    # "--auth-token=": a generated token may start with "-", which argparse would take for an option
    return ["rasa", "run", *options, f"--auth-token={token}"]


def check_lock_lifetime(lock_lifetime: float, settings: Settings) -> None:
    """Rasa read its lock lifetime from the environment; it must outlive a turn's budget (Settings.lock_lifetime_seconds)."""
    turn = settings.turn_budget_seconds + 3 * settings.database_retry_seconds
    if lock_lifetime < turn + LOCK_SAVE_MARGIN_SECONDS:
        raise SettingsError(f"Rasa's lock lifetime ({lock_lifetime:g} s, {ENV_RASA_LOCK_LIFETIME}) must outlive the "
                            f"turn budget and three waits for the database ({turn:g} s) by {LOCK_SAVE_MARGIN_SECONDS} s; "
                            "leave it unset, it is derived from the budget")


def main() -> None:
    from rasa.__main__ import main as rasa_main
    from rasa.core import lock_store

    from bot import rasa_actions, rasa_stores, turn_budget

    settings = get_settings()
    check_lock_lifetime(lock_store.LOCK_LIFETIME, settings)
    rasa_stores.install()  # a tracker store error fails the turn loudly, never a fallback to memory
    rasa_actions.install()  # before the budget's subclass of RemoteAction is made Rasa's: it inherits the quick check
    turn_budget.install(settings.turn_budget_seconds)  # every custom action call within the turn's budget
    sys.argv = rasa_argv(sys.argv[1:], settings.rasa_token)
    rasa_main()


if __name__ == "__main__":
    main()
