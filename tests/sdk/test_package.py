"""`pip wheel ./sdk/python` builds an installable, typed package with the `vsl` command,
and the SDK stays independent of the service's code."""
import ast
import subprocess
import sys
import zipfile

import pytest
import vsl

from local.stack import ROOT

# Runs processes or builds artifacts: not a pure test, so not in `make unit`.
pytestmark = pytest.mark.integration

SDK = ROOT / "sdk" / "python"


def test_the_wheel_builds_with_the_typed_package_and_the_console_script(tmp_path):
    # --no-build-isolation: build with this environment's setuptools, no download.
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--wheel-dir", str(tmp_path), str(SDK)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [wheel] = tmp_path.glob("vsl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"vsl/__init__.py", "vsl/_client.py", "vsl/_cli.py", "vsl/py.typed"} <= names
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "Requires-Dist: httpx" in metadata
    # One source for the version (vsl/_version.py), and the license the npm package has too.
    assert f"\nVersion: {vsl.__version__}\n" in metadata
    assert "License: MIT" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")
               for n in names), sorted(names)
    assert "vsl = vsl._cli:main" in entry_points


def test_the_sdk_imports_nothing_of_the_service():
    for path in (SDK / "src" / "vsl").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""]
                assert not any(n.split(".")[0] in ("chalicelib", "app", "local", "boto3")
                               for n in names), (path.name, names)
