"""Another API process beside the stack's, on the same emulator and simulator, with
some settings changed (a deployed stage's URL policy, a shorter deadline...)."""
import subprocess
import sys
from contextlib import contextmanager

import requests

from local.stack import ROOT, free_port, wait_until


@contextmanager
def api_with(stack, what: str, **env):
    """The base URL of an API serving with the stack's environment plus ``env``."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "local.api_server", "--port", str(port)],
                            cwd=ROOT, env=dict(stack.function_env("api_handler"), **env),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok, 30,
                   what, [proc])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
