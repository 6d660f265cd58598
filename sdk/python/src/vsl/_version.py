# The package version: pyproject.toml reads it from here (dynamic), the client and the CLI import it.
__version__ = "0.1.0"
