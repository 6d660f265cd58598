"""Run the project's Terraform against the local emulator.

Used by `VSL_PROVISION=terraform make run` and by the tests. Terraform and the
AWS provider are not downloaded: they must be on the machine, the provider in a
filesystem mirror (TF_PLUGIN_MIRROR, default /opt/tf-plugins).
"""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
AWS_ROOT = ROOT / "terraform"
EMULATOR_ROOT = ROOT / "terraform" / "emulator"
PLUGIN_MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))


class TerraformMissing(RuntimeError):
    pass


def check_available() -> str:
    """The terraform binary's path; raises with what is missing."""
    binary = shutil.which("terraform")
    if binary is None:
        raise TerraformMissing("terraform is not on PATH")
    if not (PLUGIN_MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        raise TerraformMissing(f"no hashicorp/aws provider in the mirror {PLUGIN_MIRROR}")
    if not (ROOT / "build" / "chalice" / "chalice.tf.json").is_file():
        raise TerraformMissing("build/chalice is missing: run `make package` first")
    return binary


class Terraform:
    """One root module with its own state and data dir (runs never share state)."""

    def __init__(self, root: Path = EMULATOR_ROOT, work_dir: Optional[Path] = None,
                 env: Optional[Dict[str, str]] = None):
        self.binary = check_available()
        self.root = root
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="vsl-tf-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        cli_config = self.work_dir / "terraformrc"
        cli_config.write_text('provider_installation {\n  filesystem_mirror {\n'
                              f'    path = "{PLUGIN_MIRROR}"\n  }}\n}}\n')
        self.env = dict(os.environ, TF_CLI_CONFIG_FILE=str(cli_config), CHECKPOINT_DISABLE="1",
                        TF_DATA_DIR=str(self.work_dir / "data"), TF_IN_AUTOMATION="1",
                        **(env or {}))
        self.state = self.work_dir / "terraform.tfstate"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([self.binary, f"-chdir={self.root}", *args], env=self.env,
                              capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"terraform {args[0]} failed ({done.returncode}):\n"
                               f"{(done.stdout + done.stderr)[-4000:]}")
        return done

    def init(self) -> None:
        self.run("init", "-input=false", "-no-color")

    def _vars(self, variables: Dict[str, object]) -> List[str]:
        out = []
        for name, value in variables.items():
            text = json.dumps(value) if not isinstance(value, str) else value
            out += ["-var", f"{name}={text}"]
        return out

    def apply(self, variables: Dict[str, object]) -> dict:
        self.run("apply", "-auto-approve", "-input=false", "-no-color", f"-state={self.state}",
                 *self._vars(variables))
        return json.loads(self.run("output", "-json", f"-state={self.state}").stdout)

    def plan(self, variables: Dict[str, object]) -> dict:
        """`terraform show -json` of what applying ``variables`` would change."""
        plan_file = self.work_dir / "plan"
        self.run("plan", "-input=false", "-no-color", f"-state={self.state}",
                 f"-out={plan_file}", *self._vars(variables))
        return json.loads(self.run("show", "-json", str(plan_file)).stdout)

    def destroy(self, variables: Dict[str, object]) -> None:
        self.run("destroy", "-auto-approve", "-input=false", "-no-color",
                 f"-state={self.state}", *self._vars(variables))


def aws_root(emulator_url: str, work_dir: Path, token: str = "r8_test_token") -> Terraform:
    """The real AWS root (providers.tf untouched), initialised, every AWS API call sent
    to the emulator through the AWS SDK's standard endpoint variable."""
    tf = Terraform(AWS_ROOT, work_dir=work_dir, env={
        "AWS_ENDPOINT_URL": emulator_url, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": "us-east-1", "TF_VAR_replicate_api_token": token})
    tf.env.pop("AWS_PROFILE", None)  # the test credentials, not a profile's
    tf.init()
    return tf


def plan_json(tf: Terraform, *args: str) -> dict:
    """`terraform show -json` of the root's plan with homolog.tfvars (and ``args``)."""
    plan_file = tf.work_dir / "plan"
    tf.run("plan", "-input=false", "-no-color", "-var-file=homolog.tfvars",
           f"-state={tf.state}", f"-out={plan_file}", *args)
    return json.loads(tf.run("show", "-json", str(plan_file)).stdout)
