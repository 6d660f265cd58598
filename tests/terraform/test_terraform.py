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
from chalicelib.resources import load_spec, resource_names
from local import iam
from local.provision import EXPIRING_KINDS
from local.stack import ROOT, free_port
from local.terraform import EMULATOR_ROOT, Terraform, aws_root, check_available
from local.terraform import plan_json as terraform_plan_json
from tools import checkov_plan

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
                               g["Projection"]["ProjectionType"],
                               sorted(g["Projection"].get("NonKeyAttributes", [])))
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


def plan_json(tf: Terraform, *args: str) -> dict:
    try:
        return terraform_plan_json(tf, *args)
    except RuntimeError as e:
        raise AssertionError(str(e)) from None


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
        function = planned[f"{APP}.aws_lambda_function.{fn}[0]"]
        assert function["tracing_config"] == [{"mode": "Active"}]
        assert function["runtime"] == "python3.13"
    processor = planned[f"{APP}.aws_lambda_function.process_job_event[0]"]
    assert planned[f"{APP}.aws_lambda_function.api_handler[0]"]["timeout"] < 29  # API Gateway's limit
    assert processor["ephemeral_storage"] == [{"size": 1024 + 512}]
    layer = planned["module.service.aws_lambda_layer_version.media[0]"]
    assert layer["compatible_runtimes"] == ["python3.13"]
    for name in ("jobs", "notifications"):
        queue = planned[f'module.service.module.queues["{name}"].aws_sqs_queue.this']
        assert queue["visibility_timeout_seconds"] == 6 * processor["timeout"]

    stage = planned["module.service.aws_api_gateway_stage.api[0]"]
    assert stage["xray_tracing_enabled"] is True and stage["stage_name"] == "homolog"
    assert "module.service.aws_api_gateway_account.this[0]" in planned
    settings = planned["module.service.aws_api_gateway_method_settings.all[0]"]["settings"][0]
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (50, 100)
    assert settings["metrics_enabled"] is False  # per-method metrics are billed: opt in
    # API Gateway's execution logs go to a group of ours, with a retention.
    execution = planned["module.service.aws_cloudwatch_log_group.api_execution[0]"]
    assert execution["retention_in_days"] == 30

    assert "module.service.aws_secretsmanager_secret_version.replicate_token[0]" in planned
    assert not [address for address in planned if "fal_key" in address]  # fal: with its key
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


def test_fal_is_deployed_with_its_key_in_a_secret_of_the_stage(emulator, tmp_path):
    """The key is a secret's value, never a function's environment (which is only
    known after apply: the applied test checks it holds the secret's ARN)."""
    plan = plan_json(aws_root(emulator, tmp_path), "-var", "fal_key=key-id:key-secret")
    planned = {r["address"]: r["change"] for r in plan["resource_changes"]}
    secret = planned["module.service.aws_secretsmanager_secret.fal_key[0]"]["after"]
    assert secret["name"] == "vsl-media-homolog/fal-key"
    version = planned["module.service.aws_secretsmanager_secret_version.fal_key[0]"]
    assert version["after_sensitive"]["secret_string"] is True
    assert "key-secret" not in json.dumps(
        [c["after"] for a, c in planned.items() if "secret_version" not in a])


def test_a_role_per_function_named_as_the_function(emulator, tmp_path):
    plan = plan_json(aws_root(emulator, tmp_path))
    planned = {r["address"]: r["change"]["after"] for r in plan["resource_changes"]}
    roles = {address.split('"')[1]: role["name"] for address, role in planned.items()
             if address.startswith(f"{APP}.aws_iam_role.function[")}
    names = {fn: planned[f"{APP}.aws_lambda_function.{fn}[0]"]["function_name"]
             for fn in FUNCTIONS}
    assert roles == names
    assert {address.split('"')[1] for address in planned
            if address.startswith(f"{APP}.aws_iam_role_policy.function[")} == set(FUNCTIONS)
    assert not [a for a in planned if "default-role" in a or a.endswith("role_policy.functions")]


def test_alarms_notify_a_topic_of_the_stage_with_an_optional_email(emulator, tmp_path):
    """Nobody is told of an alarm without a topic: the stage makes its own. Errors
    alarm only where nothing retries (the API at once, the sweep after three failed
    periods); the retried functions' failures show in their dead-letter queues, and
    a queue whose oldest message ages alarms too."""
    plan = plan_json(aws_root(emulator, tmp_path), "-var", "alarm_email=ops@example.com")
    planned = {r["address"]: r["change"]["after"] for r in plan["resource_changes"]}
    topic = planned["module.service.aws_sns_topic.alarms[0]"]
    assert topic["name"] == "vsl-media-homolog-alarms"
    subscription = planned["module.service.aws_sns_topic_subscription.alarm_email[0]"]
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "ops@example.com")
    alarms = {a["alarm_name"]: a for address, a in planned.items()
              if address.startswith("module.service.aws_cloudwatch_metric_alarm.")}
    prefix = "vsl-media-homolog"
    assert set(alarms) == {
        f"{prefix}-jobs-dlq-not-empty", f"{prefix}-notifications-dlq-not-empty",
        f"{prefix}-thumbnailer-failures-not-empty", f"{prefix}-api-5xx",
        f"{prefix}-jobs-oldest-message", f"{prefix}-notifications-oldest-message",
        f"{prefix}-api_handler-Errors", f"{prefix}-sweep_jobs-Errors",
        *(f"{prefix}-{fn}-Throttles" for fn in FUNCTIONS)}
    assert alarms[f"{prefix}-api_handler-Errors"]["evaluation_periods"] == 1
    sweep = alarms[f"{prefix}-sweep_jobs-Errors"]
    assert sweep["evaluation_periods"] == sweep["datapoints_to_alarm"] == 3
    for queue in ("jobs", "notifications"):
        age = alarms[f"{prefix}-{queue}-oldest-message"]
        assert (age["metric_name"], age["threshold"]) == ("ApproximateAgeOfOldestMessage", 1800)
        assert age["dimensions"] == {"QueueName": f"{prefix}-{queue}"}
    # Every alarm notifies the topic (its ARN is known once created).
    unknown = {r["address"]: r["change"]["after_unknown"] for r in plan["resource_changes"]}
    assert all(unknown[address].get("alarm_actions") for address in planned
               if address.startswith("module.service.aws_cloudwatch_metric_alarm."))

    given = plan_json(aws_root(emulator, tmp_path / "given"), "-var", f"alarm_topic_arn={TOPIC}")
    planned = {r["address"]: r["change"]["after"] for r in given["resource_changes"]}
    assert "module.service.aws_sns_topic.alarms[0]" not in planned
    assert all(a["alarm_actions"] == [TOPIC] for address, a in planned.items()
               if address.startswith("module.service.aws_cloudwatch_metric_alarm."))


def test_queue_consumers_are_capped_and_the_sweep_is_never_retried(emulator, tmp_path):
    plan = plan_json(aws_root(emulator, tmp_path), "-var", "processor_max_concurrency=7")
    planned = {r["address"]: r["change"]["after"] for r in plan["resource_changes"]}
    caps = {fn: planned[f"{APP}.aws_lambda_event_source_mapping.{fn}-sqs-event-source[0]"]
            ["scaling_config"] for fn in ("process_job_event", "deliver_notifications")}
    assert caps == {"process_job_event": [{"maximum_concurrency": 7}],
                    "deliver_notifications": [{"maximum_concurrency": 2}]}
    target = planned[f"{APP}.aws_cloudwatch_event_target.sweep_jobs-event[0]"]
    assert target["retry_policy"] == [{"maximum_retry_attempts": 0,
                                       "maximum_event_age_in_seconds": 60}]
    invoke = planned[f"{APP}.aws_lambda_function_event_invoke_config.sweep_jobs[0]"]
    assert invoke["maximum_retry_attempts"] == 0


def test_tables_are_protected_and_indexes_project_what_their_queries_read(emulator, tmp_path):
    plan = plan_json(aws_root(emulator, tmp_path))
    planned = {r["address"]: r["change"]["after"] for r in plan["resource_changes"]}
    tables = {address.split('"')[1]: t for address, t in planned.items()
              if address.endswith(".aws_dynamodb_table.this")}
    assert tables and all(t["deletion_protection_enabled"] is True for t in tables.values())
    projections = {i["name"]: (i["projection_type"], sorted(i["non_key_attributes"] or []))
                   for i in tables["jobs"]["global_secondary_index"]}
    # As resources.json declares them (each projects only what its queries read:
    # tests/unit/test_table_keys.py), with their keys.
    declared = load_spec()["tables"]["jobs"]["indexes"]
    assert projections == {name: (index["projection"], sorted(index.get("attributes", [])))
                           for name, index in declared.items()}
    assert projections["by-open"] == ("KEYS_ONLY", [])  # written only as a job opens and closes
    keys = {i["name"]: (i["hash_key"], i["range_key"])
            for i in tables["jobs"]["global_secondary_index"]}
    assert keys == {name: (index["hash_key"], index.get("range_key"))
                    for name, index in declared.items()}


def console(tf: Terraform, expression: str):
    done = subprocess.run([tf.binary, f"-chdir={tf.root}", "console", "-var-file=homolog.tfvars",
                           f"-state={tf.state}"], input=f"jsonencode({expression})\n",
                          env=tf.env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(json.loads(done.stdout))


def test_api_gateways_own_answers_are_in_the_api_definition_with_cors(emulator, tmp_path):
    """Not separate gateway-response resources (they race each redeployment of an API
    defined by a body): part of the body, documented format, readable by browsers."""
    tf = aws_root(emulator, tmp_path)
    responses = console(tf, "module.service.api_gateway_responses")
    not_found = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert not_found["statusCode"] == 404
    assert json.loads(not_found["responseTemplates"]["application/json"])["code"] == "NOT_FOUND"
    for response in responses.values():
        assert response["responseParameters"] == {
            "gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}
    module = json.loads((ROOT / "build" / "chalice" / "chalice.tf.json").read_text())
    assert "x-amazon-apigateway-gateway-responses\" = var.gateway_responses" in \
        module["locals"]["api_definition"]
    api = module["resource"]["aws_api_gateway_rest_api"]["rest_api"]
    assert api["body"] == "${local.api_definition}"
    plan = plan_json(tf)
    assert not [r for r in plan["resource_changes"]
                if r["type"] == "aws_api_gateway_gateway_response"]


def test_max_output_mb_is_bounded_by_what_the_processor_moves_in_its_timeout(emulator, tmp_path):
    tf = aws_root(emulator, tmp_path)
    done = tf.run("plan", "-input=false", "-no-color", "-var-file=homolog.tfvars",
                  f"-state={tf.state}", "-var", "max_output_mb=4000", check=False)
    assert done.returncode == 1
    assert "max_output_mb must be between 1 and 1800" in " ".join(done.stderr.split())


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
    policy = f"{APP}.aws_iam_role_policy.function"
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
    # Lifecycle rules on noncurrent versions wait for the bucket's versioning.
    bucket = "module.service.module.media_bucket"
    assert f"{bucket}.aws_s3_bucket_versioning.this" in \
        deps[f"{bucket}.aws_s3_bucket_lifecycle_configuration.this"]
    assert "module.service.aws_cloudwatch_log_group.api_execution" in \
        deps["module.service.aws_api_gateway_stage.api"]


def test_apply_matches_the_local_provisioning_then_destroys(emulator, tmp_path, monkeypatch):
    """Applied with fal (its key's secret and grants); then what applying it without
    fal would change (planned on the applied state, so every value is known)."""
    variables = {"emulator_url": emulator, "stage": "local", "fal_key": "emulator-fal-key"}
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
    assert "REPLICATE_API_TOKEN" not in env and "FAL_KEY" not in env  # only the secrets' ARNs
    secrets = boto3.client("secretsmanager", endpoint_url=emulator, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    stored = secrets.get_secret_value(SecretId=env["REPLICATE_API_TOKEN_SECRET_ARN"])
    assert stored["SecretString"] == "emulator-token"
    fal_key_arn = outputs["fal_key_secret_arn"]["value"]
    assert env["FAL_KEY_SECRET_ARN"] == fal_key_arn
    assert ":secret:vsl-media-local/fal-key-" in fal_key_arn
    assert secrets.get_secret_value(SecretId=fal_key_arn)["SecretString"] == "emulator-fal-key"
    assert env["VSL_MAX_OUTPUT_BYTES"] == str(1024 * 2**20)
    # No expiry variable set: no rule by kind, and nothing tagged, as the local stack.
    assert kind_rules(emulator) == []
    assert env["VSL_EXPIRING_KINDS"] == ",".join(EXPIRING_KINDS) == ""
    assert_roles_are_the_declared_ones(emulator, env["REPLICATE_API_TOKEN_SECRET_ARN"],
                                       fal_key_arn)

    # Without fal: no secret, no grant, no ARN in the functions.
    changes = {r["address"]: r["change"]
               for r in tf.plan(dict(variables, fal_key=""))["resource_changes"]}
    assert changes["module.service.aws_secretsmanager_secret.fal_key[0]"]["actions"] == \
        ["delete"]
    without_fal = iam.Place(prefix="vsl-media-local", bucket="vsl-media-local-media",
                            secret_arn=env["REPLICATE_API_TOKEN_SECRET_ARN"])
    for fn in FUNCTIONS:
        policy = changes[f'{APP}.aws_iam_role_policy.function["{fn}"]']["after"]["policy"]
        assert json.loads(policy) == iam.rendered_policy(fn, without_fal), fn
        function = changes[f"{APP}.aws_lambda_function.{fn}[0]"]["after"]
        assert "FAL_KEY_SECRET_ARN" not in function["environment"][0]["variables"], fn

    # A thumbnail expiry: its rule, and every function tags thumbnails (and only them).
    changes = {r["address"]: r["change"]["after"] for r in tf.plan(
        dict(variables, thumbnail_expiration_days=365))["resource_changes"]}
    lifecycle = "module.service.module.media_bucket.aws_s3_bucket_lifecycle_configuration.this"
    assert [(tag["value"], r["expiration"][0]["days"]) for r in changes[lifecycle]["rule"]
            for f in r["filter"] for tag in f.get("tag", [])] == [("thumbnail", 365)]
    assert {changes[f"{APP}.aws_lambda_function.{fn}[0]"]["environment"][0]["variables"]
            ["VSL_EXPIRING_KINDS"] for fn in FUNCTIONS} == {"thumbnail"}

    tf.destroy(variables)
    ddb, sqs, s3 = clients(emulator)
    assert ddb.list_tables()["TableNames"] == []
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert s3.list_buckets()["Buckets"] == []


def kind_rules(emulator: str) -> list:
    """The local stage's bucket's rules that expire objects by their kind tag: (kind, days)."""
    rules = clients(emulator)[2].get_bucket_lifecycle_configuration(
        Bucket="vsl-media-local-media")["Rules"]
    return sorted((r["Filter"]["Tag"]["Value"], r["Expiration"]["Days"]) for r in rules
                  if r.get("Filter", {}).get("Tag", {}).get("Key") == "kind")


def assert_roles_are_the_declared_ones(emulator: str, secret_arn: str,
                                       fal_key_secret_arn: str) -> None:
    """Each function runs with a role of its own whose policy, as Terraform rendered
    it, is exactly local/iam.py's rendering of permissions.json: the policy the local
    stack checks every call against."""
    kw = dict(endpoint_url=emulator, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    lam, client = boto3.client("lambda", **kw), boto3.client("iam", **kw)
    place = iam.Place(prefix="vsl-media-local", bucket="vsl-media-local-media",
                      secret_arn=secret_arn, fal_key_secret_arn=fal_key_secret_arn)
    roles = set()
    for fn in FUNCTIONS:
        name = iam.function_name(place.prefix, fn)
        role = lam.get_function(FunctionName=name)["Configuration"]["Role"]
        assert role.endswith(f":role/{name}"), (fn, role)
        roles.add(role)
        applied = client.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
        applied = json.loads(applied) if isinstance(applied, str) else applied
        assert applied == iam.rendered_policy(fn, place), fn
    assert len(roles) == len(FUNCTIONS)


def test_checkov_finds_nothing_unjustified_in_the_directories():
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make test` installs it"
    done = subprocess.run([str(CHECKOV), "-d", "terraform", "--compact", "--quiet",
                           "--skip-download"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]


def test_checkov_finds_nothing_unjustified_in_the_plan(emulator, tmp_path):
    """The plan holds every resource with its values, the functions module's too (a
    scan of build/chalice sees none of them): each failing check is fixed, or skipped
    with its reason (inline in the .tf files, CHECKOV_SKIPS for the generated module).
    fal is deployed too: its key's secret is in the plan."""
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make test` installs it"
    plan = plan_json(aws_root(emulator, tmp_path), "-var", "fal_key=key-id:key-secret")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    report = json.loads(checkov_plan.scan(path, "-o", "json").stdout)
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}"
              for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["resource_count"] > 60  # the functions module's included
