"""The code's shape: modules small enough to read at once, and a cold start that
imports only what the API's import path needs."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 260
# Imported by the handlers that use them, never by `import app` (a Lambda cold start).
NOT_ON_THE_IMPORT_PATH = ("chalicelib.jobs.views", "chalicelib.route_models",
                          "chalicelib.dependency_checks", "chalicelib.validation",
                          "chalicelib.messages")


def test_no_module_of_chalicelib_is_over_the_line_limit():
    too_long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "chalicelib").rglob("*.py"))
                if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert too_long == {}


def test_importing_the_app_leaves_the_handlers_modules_unimported():
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, app; print('\\n'.join(sys.modules))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert "chalicelib.wiring" in imported  # the probe sees the app's own modules
    assert [m for m in NOT_ON_THE_IMPORT_PATH if m in imported] == []


def test_the_slow_files_collected_first_exist():
    from tests.conftest import SLOW_FILES_FIRST
    assert all((ROOT / path).is_file() for path in SLOW_FILES_FIRST)
