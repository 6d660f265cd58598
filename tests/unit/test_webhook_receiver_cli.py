"""`python -m tools.webhook_receiver` says what it needs in one line, never with a
traceback: the secret (or the key and URL to fetch it), and the project's packages."""
import subprocess
import sys

from local.stack import ROOT, free_port
from tools import webhook_receiver


def test_without_a_key_it_says_how_to_give_the_secret(monkeypatch, capsys):
    monkeypatch.delenv("VSL_API_KEY", raising=False)
    monkeypatch.delenv("VSL_CLIENT_KEY", raising=False)
    assert webhook_receiver.main(["--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "--secret" in err and "VSL_CLIENT_KEY" in err and ".local/env" in err


def test_an_api_that_does_not_answer_is_named_with_its_url(monkeypatch, capsys):
    monkeypatch.setenv("VSL_API_KEY", "vsl_some_key")
    monkeypatch.setenv("VSL_BASE_URL", f"http://127.0.0.1:{free_port()}")
    assert webhook_receiver.main(["--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "could not reach the API at http://127.0.0.1:" in err and "make run" in err
    assert "Traceback" not in err


def test_outside_the_projects_environment_it_says_which_python_to_use():
    """The packages missing, as with a system python3 outside .venv."""
    code = ("import sys, runpy; sys.modules['standardwebhooks'] = None; sys.argv = ['x'];"
            "runpy.run_module('tools.webhook_receiver', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and ".venv/bin/python -m tools.webhook_receiver" in \
        done.stderr
