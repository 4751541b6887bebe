"""`python -m bot.console`: serve the agent console (started by `python -m bot run`)."""
import logging
import sys

from bot.console.app import serve
from bot.settings import SettingsError, get_settings

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve(get_settings())
    except SettingsError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        sys.exit(2)
