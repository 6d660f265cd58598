"""Which stored objects carry the `kind` tag: those of a kind a lifecycle rule expires
(VSL_EXPIRING_KINDS). S3 bills every tag every month; a rule finds only tagged objects."""
import pytest

from chalicelib.storage import KINDS, kind_of, kind_tagging
from tests.support.settings import settings_with


def test_unset_every_kind_is_tagged_so_that_any_rule_finds_its_objects(monkeypatch):
    assert settings_with(monkeypatch, {}).expiring_kinds == KINDS == (
        "original", "output", "thumbnail")


@pytest.mark.parametrize("value,kinds", [
    ("thumbnail", ("thumbnail",)),
    ("original, output,thumbnail", ("original", "output", "thumbnail")),
    ("", ()),
])
def test_the_kinds_are_a_comma_separated_list_empty_for_none(monkeypatch, value, kinds):
    assert settings_with(monkeypatch, {"VSL_EXPIRING_KINDS": value}).expiring_kinds == kinds


def test_a_kind_no_object_has_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="thumbnails"):
        settings_with(monkeypatch, {"VSL_EXPIRING_KINDS": "original,thumbnails"})


@pytest.mark.parametrize("key,expiring,tagging", [
    ("images/c/u/2030/01/01/j/original.png", ("thumbnail",), None),
    ("images/c/u/2030/01/01/j/output-2.png", ("thumbnail",), None),
    ("images/c/u/2030/01/01/j/thumbnail.jpg", ("thumbnail",), "kind=thumbnail"),
    ("images/c/u/2030/01/01/j/original.png", ("original", "output"), "kind=original"),
    ("images/c/u/2030/01/01/j/output-2.png", ("original", "output"), "kind=output"),
    ("images/c/u/2030/01/01/j/thumbnail.jpg", (), None),
])
def test_an_object_is_tagged_with_its_kind_only_when_a_rule_expires_that_kind(
        key, expiring, tagging):
    assert kind_tagging(kind_of(key), expiring) == tagging
