"""What the README and the docs promise matches what the code does."""
import inspect
import re
from pathlib import Path

from chalicelib import errors, validation
from local import api_server

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTATION = "\n".join(
    p.read_text() for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])


def test_every_error_code_the_api_can_return_is_documented():
    """Codes come from the domain errors, the validation's rule codes and the edge."""
    documented = set(re.findall(r"`([A-Z_]{5,})`", DOCUMENTATION))
    codes = {c.code for c in vars(errors).values()
             if inspect.isclass(c) and issubclass(c, errors.DomainError)}
    codes |= set(validation._ERROR_CODES.values()) | {"INVALID_TYPE", "INVALID_VALUE"}
    codes |= set(re.findall(r'"([A-Z][A-Z_]{4,})"', inspect.getsource(api_server)))
    assert codes - documented == set()


def test_the_configuration_table_is_generated_from_the_settings():
    from tools import settings_table
    [document] = settings_table.documents()
    assert f"{settings_table.START}\n{settings_table.table()}\n{settings_table.END}" in \
        document.read_text(), "run: python -m tools.settings_table --write"
    for name, field in settings_table.Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"
