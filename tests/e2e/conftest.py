"""One headless Chromium per test module (tests/e2e/browser.py), and the stack fixtures of the integration tests."""
import pytest

from tests.e2e.browser import Browser
from tests.integration.conftest import chat, nobody_on_shift, shop, stack  # noqa: F401 (fixtures, used by name)


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()
