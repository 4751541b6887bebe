from bot.orders.factory import make_backend
from bot.orders.http import HttpOrders
from bot.orders.sql import SqlOrders
from bot.settings import Settings


def test_the_demo_shop_by_default_and_the_shop_api_when_configured(tmp_path):
    default = make_backend(Settings(var_dir=tmp_path))
    assert isinstance(default, SqlOrders) and str(default.engine.url).endswith("/bot.db")
    api = make_backend(Settings.from_env({"ORDERS_API_URL": "http://shop.internal/api/", "ORDERS_API_TOKEN": "t",
                                          "ORDERS_TIMEOUT": "2.5"}))
    assert isinstance(api, HttpOrders)
    assert api.base_url == "http://shop.internal/api" and api.timeout == (2.0, 2.5)
    assert api.session.headers["Authorization"] == "Bearer t"
