"""The key CLI talks to the region of the deployment, as boto3 resolves it."""
from tools import api_keys


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
