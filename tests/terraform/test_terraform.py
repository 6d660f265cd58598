"""Terraform: format, validity, a plan with the AWS stage's variables, a real
apply and destroy on the emulator, no drift from the local provisioning, and a
clean checkov scan. Missing tools fail these tests; they never skip."""
import json
import re
import subprocess

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.media import CONTENT_TYPES
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
    for table in (names.jobs_table, names.api_keys_table, names.counters_table,
                  names.uploads_table):
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
    for queue in (names.jobs_queue, names.jobs_dlq, names.notifications_queue,
                  names.notifications_dlq):
        url_ = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url_, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs.get("RedrivePolicy", "null") or "null")
        out[queue] = {
            "visibility": attrs["VisibilityTimeout"], "retention": attrs["MessageRetentionPeriod"],
            "redrive": redrive and (redrive["deadLetterTargetArn"].rsplit(":", 1)[1],
                                    int(redrive["maxReceiveCount"]))}
    block = s3.get_public_access_block(Bucket=names.media_bucket)
    rules = s3.get_bucket_lifecycle_configuration(Bucket=names.media_bucket)["Rules"]
    cors = s3.get_bucket_cors(Bucket=names.media_bucket)["CORSRules"]
    out[names.media_bucket] = {
        "block": block["PublicAccessBlockConfiguration"],
        # the uploads' rule (Terraform has more rules, for the media it stores)
        "expire by prefix": sorted((r["Filter"]["Prefix"], r["Expiration"]["Days"])
                                   for r in rules if r.get("Filter", {}).get("Prefix")),
        "cors": [(sorted(c["AllowedMethods"]), sorted(c["AllowedOrigins"]),
                  sorted(h.lower() for h in c.get("AllowedHeaders", []))) for c in cors]}
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


def aws_root(emulator: str, work_dir, token: str = "r8_test_token") -> Terraform:
    """The real AWS root (providers.tf untouched), every AWS API call sent to the
    emulator through the AWS SDK's standard endpoint variable."""
    tf = Terraform(ROOT / "terraform", work_dir=work_dir, env={
        "AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": "us-east-1", "TF_VAR_replicate_api_token": token})
    tf.env.pop("AWS_PROFILE", None)  # the test credentials, not a profile's
    tf.init()
    return tf


def plan_json(tf: Terraform, *args: str) -> dict:
    plan_file = tf.work_dir / "plan"
    done = tf.run("plan", "-input=false", "-no-color", "-var-file=homolog.tfvars",
                  f"-state={tf.state}", f"-out={plan_file}", *args, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    return json.loads(tf.run("show", "-json", str(plan_file)).stdout)


TOPIC = "arn:aws:sns:us-east-1:123456789012:vsl-alarms"
APP = "module.service.module.app"
FUNCTIONS = ("api_handler", "process_job_event", "make_thumbnail", "deliver_notifications",
             "sweep_jobs")


def test_plan_of_the_aws_root(emulator, tmp_path):
    """What AWS would be asked for: tracing Active, the API Gateway on, and what
    production needs (secret, alarms, throttling, /tmp, filtered events)."""
    plan = plan_json(aws_root(emulator, tmp_path), "-var", f"alarm_topic_arn={TOPIC}")
    planned = {r["address"]: r["change"]["after"] for r in plan["resource_changes"]}

    for fn in FUNCTIONS:
        assert planned[f"{APP}.aws_lambda_function.{fn}[0]"]["tracing_config"] == [{"mode": "Active"}]
    processor = planned[f"{APP}.aws_lambda_function.process_job_event[0]"]
    assert planned[f"{APP}.aws_lambda_function.api_handler[0]"]["timeout"] < 29  # API Gateway's limit
    assert processor["ephemeral_storage"] == [{"size": 1024 + 512}]
    for name in ("jobs", "notifications"):
        queue = planned[f'module.service.module.queues["{name}"].aws_sqs_queue.this']
        assert queue["visibility_timeout_seconds"] == 6 * processor["timeout"]
    not_found = planned['module.service.aws_api_gateway_gateway_response.documented'
                        '["MISSING_AUTHENTICATION_TOKEN"]']
    assert not_found["status_code"] == "404"
    assert json.loads(not_found["response_templates"]["application/json"])["code"] == "NOT_FOUND"

    stage = planned["module.service.aws_api_gateway_stage.api[0]"]
    assert stage["xray_tracing_enabled"] is True and stage["stage_name"] == "homolog"
    assert "module.service.aws_api_gateway_account.this[0]" in planned
    settings = planned["module.service.aws_api_gateway_method_settings.all[0]"]["settings"][0]
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (50, 100)

    assert "module.service.aws_secretsmanager_secret_version.replicate_token[0]" in planned
    alarms = {a["alarm_name"]: a for address, a in planned.items()
              if address.startswith("module.service.aws_cloudwatch_metric_alarm.")}
    assert set(alarms) == {
        "vsl-media-homolog-jobs-dlq-not-empty", "vsl-media-homolog-notifications-dlq-not-empty",
        "vsl-media-homolog-thumbnailer-failures-not-empty",
        "vsl-media-homolog-api-5xx",
        *(f"vsl-media-homolog-{fn}-{metric}" for fn in FUNCTIONS
          for metric in ("Errors", "Throttles"))}
    assert all(a["alarm_actions"] == [TOPIC] for a in alarms.values())

    lifecycle = planned["module.service.module.media_bucket.aws_s3_bucket_lifecycle_configuration.this"]
    uploads = [r for r in lifecycle["rule"] if r["id"] == "expire-prefix-uploads"]
    assert [(r["filter"][0]["prefix"], r["expiration"][0]["days"]) for r in uploads] == \
        [("uploads/", 1)]
    cors = planned["module.service.aws_s3_bucket_cors_configuration.media"]["cors_rule"]
    assert [(c["allowed_methods"], c["allowed_headers"]) for c in cors] == \
        [(["PUT"], ["content-type"])]

    bucket = planned["module.service.module.media_bucket.aws_s3_bucket.this"]["bucket"]
    assert bucket == "vsl-media-homolog-123456789012-media"  # the emulator's account id
    notification = planned[f"{APP}.aws_s3_bucket_notification.vsl-media-homolog-media_notify[0]"]
    suffixes = {rule["filter_suffix"] for rule in notification["lambda_function"]}
    assert suffixes == {f"/original.{ext}" for ext in CONTENT_TYPES}


def test_an_empty_replicate_token_is_refused(emulator, tmp_path):
    tf = aws_root(emulator, tmp_path, token="")
    done = tf.run("plan", "-input=false", "-no-color", "-var-file=homolog.tfvars",
                  f"-state={tf.state}", check=False)
    assert done.returncode == 1
    assert "replicate_api_token is empty" in done.stderr


def dependencies(dot: str) -> dict:
    """Each graph node's transitive dependencies, from `terraform graph`'s edges
    (A -> B: A waits for B)."""
    direct = {}
    for a, b in re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', dot, re.M):
        direct.setdefault(a, set()).add(b)
    closed = {}

    def reach(node):
        if node not in closed:
            closed[node] = set()
            for dep in direct.get(node, ()):
                closed[node] |= {dep} | reach(dep)
        return closed[node]
    return {node: reach(node) for node in direct}


def test_what_aws_checks_at_creation_is_created_first(emulator, tmp_path):
    """AWS refuses (or the provider retries for minutes) a function with active
    tracing whose role cannot write traces yet, an SQS event source or an
    on-failure destination the role cannot use, and a logging stage before the
    account has an API Gateway CloudWatch role."""
    tf = aws_root(emulator, tmp_path)
    deps = dependencies(tf.run("graph").stdout)
    policy = f"{APP}.aws_iam_role_policy.functions"
    for fn in FUNCTIONS:
        assert {policy, f"{APP}.aws_cloudwatch_log_group.functions"} <= \
            deps[f"{APP}.aws_lambda_function.{fn}"], fn
    assert policy in deps[f"{APP}.aws_lambda_event_source_mapping.process_job_event-sqs-event-source"]
    assert policy in deps["module.service.aws_lambda_function_event_invoke_config.thumbnailer"]
    assert {"module.service.aws_api_gateway_account.this",
            "module.service.aws_iam_role_policy_attachment.api_gateway_cloudwatch"} <= \
        deps["module.service.aws_api_gateway_stage.api"]
    # and the policy waits for nothing of the functions' (no cycle through them)
    assert not any(node.startswith(f"{APP}.aws_lambda_function.") for node in deps[policy])


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
                         "vsl-media-local-make_thumbnail", "vsl-media-local-deliver_notifications",
                         "vsl-media-local-sweep_jobs"}
    thumbnailer = lam.get_function(FunctionName="vsl-media-local-make_thumbnail")["Configuration"]
    assert thumbnailer["Layers"]
    env = thumbnailer["Environment"]["Variables"]
    assert "REPLICATE_API_TOKEN" not in env  # only the secret's ARN
    secrets = boto3.client("secretsmanager", endpoint_url=emulator, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    stored = secrets.get_secret_value(SecretId=env["REPLICATE_API_TOKEN_SECRET_ARN"])
    assert stored["SecretString"] == "emulator-token"
    assert env["VSL_MAX_OUTPUT_BYTES"] == str(1024 * 2**20)

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
