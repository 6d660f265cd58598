"""The key CLI: it refuses arguments that would make a key other than the one asked
for, and talks to the region of the deployment, as boto3 resolves it."""
import pytest

from tools import api_keys


@pytest.mark.parametrize("args", [
    ["create", "--expires-in-days", "0"], ["create", "--expires-in-days", "-1"],
    ["create", "--expires-in-days", "nan"], ["create", "--expires-in-days", "inf"],
    # past the last date there is: a traceback once, from `make api-key`
    ["--local", "create", "--client", "x", "--expires-in-days", "99999999"],
    ["create", "--expires-in-days", "36501"], ["create", "--client", "a/b"],
    ["create", "--client", ""], ["create", "--limit", "submissions_per_hour=x"]])
def test_bad_arguments_exit_2_before_touching_storage(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        api_keys.main(args)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err



def test_the_region_comes_from_the_profile(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[profile deployer]\nregion = eu-west-1\n")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "deployer")
    assert api_keys.aws_region() == "eu-west-1"


def test_no_region_anywhere_is_a_clear_error(tmp_path, monkeypatch, capsys):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert api_keys.main(["list"]) == 2
    assert "no AWS region" in capsys.readouterr().err
