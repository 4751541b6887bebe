"""Every setting is declared once (bot.settings.Settings): reading the environment and writing it for child
processes both come from that declaration, so a setting can never be read but not passed on."""
import dataclasses
from pathlib import Path

from bot.settings import Settings

# values unlike every default, of the type each kind reads (some settings check what they are given)
CHOSEN = {"redis_url": "redis://:pw@cache.internal:6380/2", "database_url": "postgresql://bot:pw@db:5432/shop",
          "smtp_tls": "ssl", "smtp_from": "Shop help <help@shop.example>", "console_max_text": 100,
          "console_login_tries": 7, "console_login_tries_per_address": 70}


def different_value(f: dataclasses.Field, how):
    if f.name in CHOSEN:
        return CHOSEN[f.name]
    default = f.default
    return {"int": lambda: (default or 0) + 3, "float": lambda: (default or 0) + 0.25, "flag": lambda: not default,
            "path": lambda: Path("/srv/bot-var"), "list": lambda: ("https://shop.example", "https://www.shop.example"),
            "optional": lambda: f"http://{f.name}.internal:1234"}.get(how.kind, lambda: f"chosen-{f.name}")()


def test_every_declared_setting_round_trips_through_the_environment():
    chosen = Settings(**{f.name: different_value(f, how) for f, how in Settings.declared()})
    defaults = Settings()  # its API token made up, as when RASA_TOKEN is unset
    for f, _how in Settings.declared():
        assert getattr(chosen, f.name) != getattr(defaults, f.name), f.name  # the test covers each one
    assert Settings.from_env(chosen.to_env()) == chosen


def test_each_setting_has_its_own_variable_and_unset_means_the_default():
    names = [how.name for _f, how in Settings.declared()]
    assert len(names) == len(set(names)) == len(dataclasses.fields(Settings))
    read = Settings.from_env({})
    assert read == Settings(rasa_token=read.rasa_token)
    empty = Settings.from_env({name: "" for name in names})
    assert empty == Settings(rasa_token=empty.rasa_token)
