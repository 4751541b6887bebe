"""The unit tier stays light: collecting tests/unit never imports the stack fixtures or any heavier tier."""
import subprocess
import sys

from bot.settings import ROOT

HEAVIER_TIERS = ("tests.integration", "tests.e2e")

# a pytest of its own: in this session tests/integration may be collected too (make test), which proves nothing
COLLECT_UNIT_TESTS = f"""
import sys, pytest
status = pytest.main(["tests/unit", "--collect-only", "-q", "-p", "no:cacheprovider"])
loaded = sorted(name for name in sys.modules if name.startswith({HEAVIER_TIERS!r}))
print("heavier tiers loaded:", loaded)
sys.exit(status or (10 if loaded else 0))
"""


def test_collecting_the_unit_tests_imports_no_integration_or_browser_module():
    run = subprocess.run([sys.executable, "-c", COLLECT_UNIT_TESTS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "heavier tiers loaded: []" in run.stdout
