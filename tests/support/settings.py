"""Settings read from exactly the environment a test gives (nothing else of the process's)."""
import os
from typing import Dict

from chalicelib.config import Settings


def settings_with(monkeypatch, env: Dict[str, str]) -> Settings:
    for name in list(os.environ):
        if name.startswith(("VSL_", "REPLICATE_", "FAL_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()
