"""Terraform: format, validity, a plan with the AWS stage's variables, a real
apply and destroy on the emulator, no drift from the local provisioning, and a
clean checkov scan. Missing tools fail these tests; they never skip."""
import json
import subprocess

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.resources import resource_names
from local.stack import ROOT, free_port
from local.terraform import EMULATOR_ROOT, Terraform, check_available

pytestmark = pytest.mark.integration
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture
def emulator():
    """A fresh moto server over HTTP; yields its URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def clients(url):
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    return boto3.client("dynamodb", **kw), boto3.client("sqs", **kw), boto3.client("s3", **kw)


def describe(url: str, stage: str) -> dict:
    """What a stage's shared resources look like on an emulator, in comparable form."""
    ddb, sqs, s3 = clients(url)
    names = resource_names(stage)
    out = {}
    for table in (names.jobs_table, names.api_keys_table, names.counters_table):
        d = ddb.describe_table(TableName=table)["Table"]
        ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        out[table] = {
            "keys": sorted((k["AttributeName"], k["KeyType"]) for k in d["KeySchema"]),
            "attributes": sorted((a["AttributeName"], a["AttributeType"])
                                 for a in d["AttributeDefinitions"]),
            "indexes": sorted((g["IndexName"], str(sorted((k["AttributeName"], k["KeyType"])
                                                          for k in g["KeySchema"])),
                               g["Projection"]["ProjectionType"])
                              for g in d.get("GlobalSecondaryIndexes", [])),
            "billing": d["BillingModeSummary"]["BillingMode"],
            "ttl": ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None,
        }
    for queue in (names.jobs_queue, names.jobs_dlq):
        url_ = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url_, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs.get("RedrivePolicy", "null") or "null")
        out[queue] = {
            "visibility": attrs["VisibilityTimeout"], "retention": attrs["MessageRetentionPeriod"],
            "redrive": redrive and (redrive["deadLetterTargetArn"].rsplit(":", 1)[1],
                                    int(redrive["maxReceiveCount"]))}
    block = s3.get_public_access_block(Bucket=names.media_bucket)
    out[names.media_bucket] = block["PublicAccessBlockConfiguration"]
    return out


def test_terraform_and_the_provider_mirror_are_present():
    check_available()  # raises, failing the run, when terraform or its provider is missing


def test_format():
    tf = Terraform()
    done = tf.run("fmt", "-check", "-recursive", "-diff", str(ROOT / "terraform"), check=False)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("root", [ROOT / "terraform", EMULATOR_ROOT], ids=["aws", "emulator"])
def test_validate(root):
    tf = Terraform(root)
    tf.init()
    done = tf.run("validate", "-no-color", check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_plan_with_the_aws_stage_variables(emulator, tmp_path):
    tf = Terraform(work_dir=tmp_path)
    tf.init()
    done = tf.run("plan", "-input=false", "-no-color", "-detailed-exitcode",
                  f"-state={tf.state}", "-var-file=../homolog.tfvars",
                  "-var", f"emulator_url={emulator}", "-var", "enable_api_gateway=true",
                  check=False)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr  # 2: changes planned
    for resource in ("aws_api_gateway_rest_api.rest_api[0]", "aws_api_gateway_stage.rest_api[0]",
                     "aws_lambda_function.process_job_event[0]",
                     "aws_lambda_event_source_mapping", "aws_lambda_layer_version.media[0]",
                     'module.tables["jobs"]', "vsl-media-homolog-jobs"):
        assert resource in done.stdout, resource


def test_apply_matches_the_local_provisioning_then_destroys(emulator, tmp_path, monkeypatch):
    variables = {"emulator_url": emulator, "stage": "local"}
    tf = Terraform(work_dir=tmp_path)
    tf.init()
    outputs = tf.apply(variables)
    assert outputs["media_bucket"]["value"] == "vsl-media-local-media"
    by_terraform = describe(emulator, "local")

    quick_port = free_port()
    quick = ThreadedMotoServer(ip_address="127.0.0.1", port=quick_port)
    quick.start()
    try:
        quick_url = f"http://127.0.0.1:{quick_port}"
        for k, v in {"AWS_ENDPOINT_URL": quick_url, "AWS_ACCESS_KEY_ID": "testing",
                     "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(k, v)
        from local.provision import provision
        provision("local")
        assert describe(quick_url, "local") == by_terraform
    finally:
        quick.stop()

    lam = boto3.client("lambda", endpoint_url=emulator, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    functions = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert functions == {"vsl-media-local", "vsl-media-local-process_job_event",
                         "vsl-media-local-make_thumbnail"}
    thumbnailer = lam.get_function(FunctionName="vsl-media-local-make_thumbnail")
    assert thumbnailer["Configuration"]["Layers"]

    tf.destroy(variables)
    ddb, sqs, s3 = clients(emulator)
    assert ddb.list_tables()["TableNames"] == []
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert s3.list_buckets()["Buckets"] == []


@pytest.mark.parametrize("target,extra", [
    ("terraform", []),
    ("build/chalice", ["--config-file", "build/chalice/.checkov.yaml"])])
def test_checkov_finds_nothing_unjustified(target, extra):
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make test` installs it"
    done = subprocess.run([str(CHECKOV), "-d", target, *extra, "--compact", "--quiet",
                           "--skip-download"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]
