"""The demo page signs in any customer it is asked for: only in demo mode, and only for a request made on this
machine, never for one that came through a proxy (which would make the signing public)."""
import asyncio

import pytest

from bot.channels import demo_page
from bot.channels.demo_page import demo_login, demo_response
from bot.identity import sign
from bot.settings import Settings, run_settings
from tests.unit.sanic_request import sanic_request

SECRET = "demo-secret"
ASKED = "/webhooks/widget/demo?customer=C00017"
PROXIED = [{"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9;proto=https"},
           {"X-Real-IP": "203.0.113.9"}, {"x-forwarded-for": "127.0.0.1"}]


def demo_settings(**kwargs) -> Settings:
    return Settings(identity_secret=SECRET, demo_mode=True, **kwargs)


def page(settings: Settings, request) -> tuple:
    answer = asyncio.run(demo_response(settings, request))
    return answer.status, answer.body.decode()


@pytest.fixture(autouse=True)
def no_order_lookups(monkeypatch):
    monkeypatch.setattr(demo_page, "name_on_orders", lambda customer: "Anna")


def test_demo_mode_signs_in_the_customer_asked_for_on_this_machine():
    assert demo_login(demo_settings(), sanic_request(ASKED)) == "C00017"
    assert demo_login(demo_settings(), sanic_request(ASKED, peer="::1")) == "C00017"
    status, body = page(demo_settings(), sanic_request(ASKED))
    assert status == 200 and sign("C00017", SECRET) in body


@pytest.mark.parametrize("headers", PROXIED)
def test_a_request_that_came_through_a_proxy_is_never_signed_in(headers):
    request = sanic_request(ASKED, headers=headers)
    assert demo_login(demo_settings(), request) is None
    status, body = page(demo_settings(), sanic_request(ASKED, headers=headers))
    assert status == 200 and sign("C00017", SECRET) not in body and "C00017" not in body  # a guest page


def test_a_request_from_another_machine_is_never_signed_in():
    assert demo_login(demo_settings(), sanic_request(ASKED, peer="192.0.2.10")) is None
    assert demo_login(demo_settings(), sanic_request(ASKED, peer="::ffff:192.0.2.10")) is None
    assert demo_login(demo_settings(), sanic_request("/demo?customer=" + "C" * 40)) is None  # not an id


def test_without_demo_mode_there_is_no_demo_page():
    settings = Settings(identity_secret=SECRET)  # `python -m bot rasa`, containers: DEMO_MODE unset
    assert demo_login(settings, sanic_request(ASKED)) is None
    status, body = page(settings, sanic_request(ASKED))
    assert status == 404 and sign("C00017", SECRET) not in body


def test_demo_mode_is_on_only_where_the_demo_runs_on_one_machine(tmp_path):
    def run(**env):
        return run_settings({"BOT_VAR_DIR": str(tmp_path), **env}).demo_mode

    assert Settings.from_env({}).demo_mode is False  # python -m bot rasa|actions|console, docker-compose.yml
    assert run() is True  # python -m bot run, make run: loopback and the demo shop
    assert run(BOT_HOST="192.0.2.4") is False  # serving other machines
    assert run(ORDERS_API_URL="https://shop.example/api") is False  # real customers
    assert run(DEMO_MODE="0") is False
    assert Settings.from_env({"DEMO_MODE": "1"}).demo_mode is True
    assert Settings.from_env(run_settings({"BOT_VAR_DIR": str(tmp_path)}).to_env()).demo_mode is True  # Rasa agrees


@pytest.mark.parametrize("host", ["chat.shop.example", "chat.shop.example:443", "203.0.113.9:5005"])
def test_a_proxy_that_adds_no_header_is_known_by_the_public_name_it_passes_on(host):
    request = sanic_request(ASKED, headers={"Host": host})  # stunnel, ssh -L: the peer is this machine
    assert demo_login(demo_settings(), request) is None


@pytest.mark.parametrize("host", ["127.0.0.1:5005", "localhost:5005", "[::1]:5005", "localhost"])
def test_this_machines_own_names_are_this_machine(host):
    assert demo_login(demo_settings(), sanic_request(ASKED, headers={"Host": host})) == "C00017"
