import pytest

from bot.settings import RedisTarget, Settings, SettingsError, normalise_database_url


def test_defaults_are_embedded_and_local():
    s = Settings.from_env({})
    assert s.redis_url is None and s.database_url is None
    assert s.host == "127.0.0.1"
    assert s.sql_url.startswith("sqlite:///") and s.sql_url.endswith("/var/bot.db")
    assert s.redis == RedisTarget("127.0.0.1", s.embedded_redis_port)
    assert len(s.rasa_token) >= 24 and Settings.from_env({}).rasa_token != s.rasa_token


def test_redis_url_is_parsed_for_the_lock_store():
    s = Settings.from_env({"REDIS_URL": "redis://:s3cret@cache.internal:6380/2"})
    assert s.redis == RedisTarget("cache.internal", 6380, 2, "s3cret")
    env = s.rasa_environment()
    assert env["LOCK_STORE_HOST"] == "cache.internal"
    assert env["LOCK_STORE_PORT"] == "6380"
    assert env["LOCK_STORE_PASSWORD"] == "s3cret"
    assert env["LOCK_STORE_DB"] == "2"  # the URL's own db, not a fixed one


def test_database_url_reaches_the_tracker_store():
    s = Settings.from_env({"DATABASE_URL": "postgres://bot:pw@db:5432/shop"})
    assert s.rasa_environment()["TRACKER_STORE_URL"] == "postgresql://bot:pw@db:5432/shop"


@pytest.mark.parametrize(
    "env, named",
    [
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://localhost:6379/cache"}, "REDIS_URL"),
        ({"DATABASE_URL": "just-a-name"}, "DATABASE_URL"),
        ({"RASA_PORT": "fifty"}, "RASA_PORT"),
        ({"ORDERS_TIMEOUT": "soon"}, "ORDERS_TIMEOUT"),
        ({"CONSOLE_MAX_TEXT": "5000"}, "CONSOLE_MAX_TEXT"),  # more than the records keep: it would be cut short
        ({"CONSOLE_LOGIN_TRIES": "0"}, "CONSOLE_LOGIN_TRIES"),
        ({"CONSOLE_LOGIN_TRIES_PER_ADDRESS": "-1"}, "CONSOLE_LOGIN_TRIES_PER_ADDRESS"),
        ({"MAX_REQUEST_BYTES": "64k"}, "MAX_REQUEST_BYTES"),
    ],
)
def test_bad_values_fail_with_the_setting_named(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_postgres_scheme_is_normalised_and_others_kept():
    assert normalise_database_url("postgres://x@h/db") == "postgresql://x@h/db"
    assert normalise_database_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"


def test_the_rest_channel_is_off_by_default_and_every_server_has_a_body_limit():
    defaults = Settings.from_env({})
    assert defaults.rest_token == "" and 0 < defaults.max_request_bytes <= 64 * 1024
    assert defaults.max_request_bytes < defaults.actions_max_request_bytes  # Rasa sends the action server whole trackers
    chosen = Settings.from_env({"REST_TOKEN": "t0ken", "MAX_REQUEST_BYTES": "1000", "ACTIONS_MAX_REQUEST_BYTES": "2000"})
    assert Settings.from_env(chosen.to_env()) == chosen  # children see the same
    assert (chosen.rest_token, chosen.max_request_bytes, chosen.actions_max_request_bytes) == ("t0ken", 1000, 2000)


def test_children_run_numpy_single_threaded_unless_told_otherwise(tmp_path, monkeypatch):
    from bot.settings import child_environment

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert child_environment(Settings(var_dir=tmp_path))["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # a machine's own choice is kept
    assert child_environment(Settings(var_dir=tmp_path))["OPENBLAS_NUM_THREADS"] == "4"
