"""One headless Chromium per test module (tests/e2e/browser.py)."""
import pytest

from tests.e2e.browser import Browser


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()
