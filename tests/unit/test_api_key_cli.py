"""The key CLI refuses arguments that would make a key other than the one asked for."""
import pytest

from tools import api_keys


@pytest.mark.parametrize("args", [
    ["create", "--expires-in-days", "0"], ["create", "--expires-in-days", "-1"],
    ["create", "--expires-in-days", "nan"], ["create", "--client", "a/b"],
    ["create", "--client", ""], ["create", "--limit", "submissions_per_hour=x"]])
def test_bad_arguments_exit_2_before_touching_storage(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        api_keys.main(args)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err
