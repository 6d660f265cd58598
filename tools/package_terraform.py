"""Build the deployable artifacts Terraform applies, under build/:

  build/chalice/          the functions, as a Terraform module: `chalice package
                          --pkg-format terraform`, post-processed (below)
  build/media-layer.zip   the Lambda layer with the media libraries

Post-processing makes Chalice's output (written for Terraform < 1.4 and AWS
provider < 5) a module for today's Terraform (aws/chalice issue 2066):
  - drops its `terraform` pins and the null provider's data source;
  - takes the queue, bucket, layer and extra environment as variables instead of
    names baked in at package time, so Terraform orders and wires them;
  - replaces Chalice's one role and generated IAM policy (`Resource: "*"`)
    with a role per function, each with the least-privilege policy the service
    module renders from terraform/modules/service/permissions.json
    (`role_policies`), and creates the functions' log groups here, named from
    the functions' names: every function `depends_on` both, so AWS never sees a
    function (X-Ray tracing Active) whose role cannot write traces or logs yet,
    and the SQS event sources wait for the queue permissions the same way;
  - caps each SQS event source's concurrency (`queue_max_concurrency`), and
    gives the schedule's target and the scheduled function no retries (a
    failed sweep is the next minute's to redo, never run twice at once);
  - puts API Gateway's own responses (`gateway_responses`) in the API's
    definition, where the provider wants them for an API defined by a body;
  - filters the S3 notification to originals (`.../original.EXT`), one rule
    per extension (a rule takes one suffix);
  - leaves the API stage to the service module (it waits for the account's
    API Gateway CloudWatch role, and carries throttling and logging);
  - puts the API Gateway behind `enable_api_gateway` (the emulator rejects the
    Swagger 2.0 body) and every function behind `enable_functions`.

Both zips carry their Python modules compiled for python3.13 (unchecked-hash
.pyc files): Lambda's /var/task and /opt are read-only, so without them every
cold start compiles every module it imports, ours and the libraries', again.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from chalicelib.media import CONTENT_TYPES
from chalicelib.storage import output_name

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
MEDIA_FUNCTIONS = ("process_job_event", "make_thumbnail")
# The queue each SQS-triggered function consumes, as a variable of the module.
QUEUE_OF_FUNCTION = {"process_job_event": "jobs_queue_arn",
                     "deliver_notifications": "notifications_queue_arn"}
# Lambda's runtime for the functions; the layer's wheels are chosen for it.
LAYER_PYTHON = "3.13"
# Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels
# load there (pip also takes the older manylinux tags this one includes).
LAYER_PLATFORM = "manylinux_2_28_x86_64"
API_RESOURCES = {"aws_api_gateway_rest_api": "rest_api", "aws_api_gateway_deployment": "rest_api"}
# What the processor writes first for every job: the only objects whose
# creation needs the thumbnailer (S3 filters take one suffix per rule).
ORIGINAL_SUFFIXES = sorted(f"/{output_name(0, ext)}" for ext in CONTENT_TYPES)

VARIABLES = {
    "stage": {"type": "string", "description": "Stage: the API stage, and VSL_STAGE of the functions"},
    "name_prefix": {"type": "string", "description": "Prefix of the functions', role's and API's names (SERVICE-STAGE)"},
    "jobs_queue_arn": {"type": "string", "description": "ARN of the queue the processor consumes"},
    "notifications_queue_arn": {"type": "string", "description": "ARN of the queue the webhook delivery consumes"},
    "media_bucket_name": {"type": "string", "description": "Bucket whose new originals wake the thumbnailer"},
    "media_bucket_arn": {"type": "string", "description": "ARN of that bucket"},
    "media_layer_arns": {"type": "list(string)", "description": "Layers with the media libraries (processor, thumbnailer)"},
    "environment": {"type": "map(string)", "description": "Extra environment for every function", "default": {}},
    "enable_functions": {"type": "bool", "description": "Create the Lambda functions and their triggers", "default": True},
    "enable_api_gateway": {"type": "bool", "description": "Create the REST API (the emulator cannot)", "default": True},
    "tracing_mode": {"type": "string", "description": "X-Ray tracing mode of the functions", "default": "Active"},
    "log_retention_days": {"type": "number", "description": "Days the functions' logs are kept", "default": 30},
    "role_policies": {"type": "map(string)", "description": "Each function's IAM policy (JSON) by handler; each function is created after its role's"},
    "queue_max_concurrency": {"type": "map(number)", "description": "Most concurrent invocations each SQS event source makes, by handler"},
    "gateway_responses": {"type": "any", "description": "API Gateway's own responses, as the definition's x-amazon-apigateway-gateway-responses", "default": {}},
    "media_ephemeral_storage_mb": {"type": "number", "description": "/tmp of the processor and thumbnailer (MB)", "default": 512},
}


# Checks that do not fit these functions, with the reason: the scan of the plan
# (tools/checkov_plan.py) skips them, as the module's JSON cannot carry skip
# comments. The service module's own resources carry theirs inline.
CHECKOV_SKIPS = {
    "CKV_AWS_116": "No Lambda DLQ needed: the processor and the webhook delivery are "
                   "SQS-triggered (the queues have DLQs), the API is invoked synchronously, "
                   "the S3-triggered thumbnailer has an on-failure destination "
                   "(aws_lambda_function_event_invoke_config) and the sweep is redone the "
                   "next minute.",
    "CKV_AWS_117": "Not in a VPC: the functions reach only AWS APIs and Replicate on the "
                   "internet; a VPC would add NAT cost and cold-start time for no isolation.",
    "CKV_AWS_272": "Code signing needs a Signer profile in the deploying account; the "
                   "package is built and applied by the same pipeline.",
    "CKV_AWS_158": "The functions' log groups use CloudWatch's default encryption at rest; "
                   "a customer-managed key adds cost and key policy work for logs that "
                   "hold no media or secrets.",
    "CKV_AWS_338": "The functions' logs are kept log_retention_days (30 by default): "
                   "operational logs, not an audit trail.",
}


def chalice_package(stage: str, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    env = dict(os.environ, AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run([str(chalice), "package", "--stage", stage, "--pkg-format", "terraform",
                    str(out)], cwd=ROOT, env=env, check=True)
    with_bytecode(out / "deployment.zip")


def with_bytecode(package: Path) -> None:
    """Rewrite the zip with each module's bytecode beside it (``compile_bytecode``)."""
    staging = package.with_suffix(".staging")
    if staging.exists():
        shutil.rmtree(staging)
    with zipfile.ZipFile(package) as zf:
        zf.extractall(staging)
    write_reproducible_zip(staging, package)
    shutil.rmtree(staging)


def post_process(module_dir: Path, stage: str) -> dict:
    path = module_dir / "chalice.tf.json"
    tf = json.loads(path.read_text())
    resources = tf["resource"]
    app_name = resources["aws_api_gateway_rest_api"]["rest_api"]["name"]
    baked_prefix = f"{app_name}-{stage}"

    tf["terraform"] = {"required_providers": {"aws": {"source": "hashicorp/aws"}}}
    tf["data"].pop("null_data_source", None)
    tf["variable"] = VARIABLES
    # One role per function, named as the function.
    chalice_role = resources.pop("aws_iam_role")["default-role"]
    resources["aws_iam_role"] = {"function": {
        "for_each": "${var.enable_functions ? local.function_names : {}}",
        "name": "${each.value}",
        "assume_role_policy": chalice_role["assume_role_policy"]}}
    resources["aws_iam_role_policy"] = {"function": {
        "for_each": "${var.enable_functions ? local.function_names : {}}",
        "name": "${each.value}",
        "role": "${aws_iam_role.function[each.key].id}",
        "policy": "${var.role_policies[each.key]}"}}
    rest_api = resources["aws_api_gateway_rest_api"]["rest_api"]
    rest_api["name"] = "${var.name_prefix}"
    rest_api["lifecycle"] = {"create_before_destroy": True}
    rest_api["body"] = "${local.api_definition}"

    functions = resources["aws_lambda_function"]
    # Chalice takes the runtime from the interpreter that packages: the layer's
    # wheels must be for the same one.
    (runtime,) = {fn["runtime"] for fn in functions.values()}
    if runtime != f"python{LAYER_PYTHON}":
        raise SystemExit(f"chalice packaged for {runtime} but the layer is built for "
                         f"python{LAYER_PYTHON}: package with Python {LAYER_PYTHON} "
                         "or move LAYER_PYTHON (docs/deploy.md, runtime dates)")
    function_names = {}
    for name, fn in functions.items():
        fn["count"] = "${var.enable_functions ? 1 : 0}"
        assert fn["function_name"].startswith(baked_prefix), fn["function_name"]
        function_names[name] = "${var.name_prefix}" + fn["function_name"][len(baked_prefix):]
        fn["function_name"] = "${local.function_names.%s}" % name
        baked = json.dumps(fn["environment"]["variables"])
        fn["environment"]["variables"] = "${merge(jsondecode(%s), var.environment)}" % json.dumps(baked)
        fn["tracing_config"] = {"mode": "${var.tracing_mode}"}
        fn["role"] = '${aws_iam_role.function["%s"].arn}' % name
        fn["depends_on"] = ["aws_iam_role_policy.function", "aws_cloudwatch_log_group.functions"]
        if name in MEDIA_FUNCTIONS:
            fn["layers"] = "${var.media_layer_arns}"
            fn["ephemeral_storage"] = {"size": "${var.media_ephemeral_storage_mb}"}
    tf.setdefault("locals", {})["function_names"] = function_names
    # Named from the functions' names, not their attributes: created before them,
    # so Lambda never creates a group of its own (unmanaged, kept forever).
    resources["aws_cloudwatch_log_group"] = {"functions": {
        "for_each": "${var.enable_functions ? local.function_names : {}}",
        "name": "/aws/lambda/${each.value}",
        "retention_in_days": "${var.log_retention_days}"}}

    mappings = resources["aws_lambda_event_source_mapping"]
    assert set(mappings) == {f"{fn}-sqs-event-source" for fn in QUEUE_OF_FUNCTION}, set(mappings)
    for fn, variable in QUEUE_OF_FUNCTION.items():
        mapping = mappings[f"{fn}-sqs-event-source"]
        mapping["event_source_arn"] = "${var.%s}" % variable
        mapping["count"] = "${var.enable_functions ? 1 : 0}"
        # A batch never takes the account's whole concurrency (the API's too).
        mapping["scaling_config"] = {"maximum_concurrency": '${var.queue_max_concurrency["%s"]}' % fn}
        # AWS checks the role may read the queue when the mapping is created.
        mapping["depends_on"] = ["aws_iam_role_policy.function"]
    (notification,) = resources["aws_s3_bucket_notification"].values()
    notification["bucket"] = "${var.media_bucket_name}"
    notification["count"] = "${var.enable_functions ? 1 : 0}"
    notification["depends_on"] = ["aws_lambda_permission.make_thumbnail-s3event"]
    (rule,) = notification["lambda_function"]
    notification["lambda_function"] = [dict(rule, id=f"original{suffix.split('/original')[1]}",
                                            filter_suffix=suffix)
                                       for suffix in ORIGINAL_SUFFIXES]
    # The sweep's schedule (EventBridge): named per stage, counted with the functions.
    schedule_rules = resources.get("aws_cloudwatch_event_rule", {})
    for name, rule in schedule_rules.items():
        scheduled = name.rsplit("-event", 1)[0]
        rule["name"] = "${var.name_prefix}-%s" % name
        rule["description"] = "Runs %s on its schedule" % scheduled
        rule["count"] = "${var.enable_functions ? 1 : 0}"
        target = resources["aws_cloudwatch_event_target"][name]
        target["count"] = "${var.enable_functions ? 1 : 0}"
        # No retries, by EventBridge (delivery) or by Lambda (the asynchronous call):
        # the next run comes within a minute, and two runs must not overlap.
        target["retry_policy"] = {"maximum_retry_attempts": 0, "maximum_event_age_in_seconds": 60}
        resources.setdefault("aws_lambda_function_event_invoke_config", {})[scheduled] = {
            "count": "${var.enable_functions ? 1 : 0}",
            "function_name": "${aws_lambda_function.%s.function_name}" % scheduled,
            "maximum_retry_attempts": 0, "maximum_event_age_in_seconds": 60}
        resources["aws_lambda_permission"][name]["count"] = "${var.enable_functions ? 1 : 0}"
    permissions = resources["aws_lambda_permission"]
    permissions["make_thumbnail-s3event"]["source_arn"] = "${var.media_bucket_arn}"
    permissions["make_thumbnail-s3event"]["count"] = "${var.enable_functions ? 1 : 0}"
    permissions["rest_api_invoke"]["count"] = \
        "${var.enable_functions && var.enable_api_gateway ? 1 : 0}"
    # A deployment's stage_name is deprecated in provider 5: the service module
    # creates the stage.
    deployment = resources["aws_api_gateway_deployment"]["rest_api"]
    deployment.pop("stage_name")
    deployment.pop("stage_description")  # md5 of the swagger: redeployment follows the definition
    for kind, name in API_RESOURCES.items():
        resources[kind][name]["count"] = \
            "${var.enable_functions && var.enable_api_gateway ? 1 : 0}"

    text = json.dumps(tf, indent=2)
    # Counted resources are referenced by index.
    for fn in functions:
        text = text.replace(f"aws_lambda_function.{fn}.", f"aws_lambda_function.{fn}[0].")
    for kind, name in API_RESOURCES.items():
        text = text.replace(f"{kind}.{name}.", f"{kind}.{name}[0].")
    for name in schedule_rules:
        text = text.replace(f"aws_cloudwatch_event_rule.{name}.",
                            f"aws_cloudwatch_event_rule.{name}[0].")
    tf = json.loads(text)
    # The Swagger body (a local) is evaluated even when no function exists.
    tf["locals"]["chalice_api_swagger"] = tf["locals"]["chalice_api_swagger"].replace(
        "${aws_lambda_function.api_handler[0].invoke_arn}",
        '${try(aws_lambda_function.api_handler[0].invoke_arn, "")}')
    tf["locals"]["api_definition"] = (
        '${jsonencode(merge(jsondecode(local.chalice_api_swagger), '
        '{"x-amazon-apigateway-gateway-responses" = var.gateway_responses}))}')
    tf["resource"]["aws_api_gateway_deployment"]["rest_api"]["triggers"] = {
        "redeployment": "${md5(local.api_definition)}"}
    tf["output"] = {
        "role_names": {"value": "${{for fn, role in aws_iam_role.function : fn => role.name}}"},
        # From the resources, so whatever reads a name waits for the function.
        "function_names": {"value": {fn: f"${{one(aws_lambda_function.{fn}[*].function_name)}}"
                                     for fn in functions}},
        "log_group_arns": {"value": "${{for fn, group in aws_cloudwatch_log_group.functions : fn => group.arn}}"},
        "thumbnailer_arn": {"value": "${one(aws_lambda_function.make_thumbnail[*].arn)}"},
        "rest_api_id": {"value": "${one(aws_api_gateway_rest_api.rest_api[*].id)}"},
        "rest_api_name": {"value": "${one(aws_api_gateway_rest_api.rest_api[*].name)}"},
        "deployment_id": {"value": "${one(aws_api_gateway_deployment.rest_api[*].id)}"},
        "runtime": {"value": runtime},
    }
    path.write_text(json.dumps(tf, indent=2) + "\n")
    (module_dir / ".checkov.yaml").write_text(
        "# Written by tools/package_terraform.py; reasons in CHECKOV_SKIPS there.\n"
        + "".join(f"# {check}: {reason}\n" for check, reason in CHECKOV_SKIPS.items())
        + "skip-check:\n" + "".join(f"  - {check}\n" for check in CHECKOV_SKIPS))
    return tf


def build_media_layer(out: Path) -> None:
    """The media libraries as cp313 wheels for Lambda's python3.13 (Amazon Linux 2023)."""
    staging = BUILD / "media-layer"
    if staging.exists():
        shutil.rmtree(staging)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
                    "--platform", LAYER_PLATFORM, "--implementation", "cp",
                    "--python-version", LAYER_PYTHON, "--only-binary=:all:",
                    "--target", str(staging / "python"),
                    "-r", str(ROOT / "requirements-media.txt")], check=True)
    write_reproducible_zip(staging, out)


# Zip entries carry a fixed time and mode: the same files give the same bytes,
# so a deploy without changes uploads no new layer version.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def compile_bytecode(src: Path) -> None:
    """Each module's .pyc for this interpreter (python3.13, as Lambda's runtime), in
    unchecked-hash mode: used without comparing it to its source, whose times the zip
    does not keep. A fixed hash seed keeps set constants in one order, so the same
    sources give the same bytes. (A file that does not compile, a test fixture of some
    library, gets none: importing it fails in any case.)"""
    assert sys.version_info[:2] == (3, 13), "bytecode for Lambda's python3.13 needs 3.13"
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-q", "-d", ".",
                    "--invalidation-mode", "unchecked-hash", str(src)],
                   env=dict(os.environ, PYTHONHASHSEED="0"), check=False)


def write_reproducible_zip(src: Path, out: Path) -> None:
    """Zip the files under ``src`` (paths relative to it) in sorted order, with the
    modules' bytecode (``compile_bytecode``; any other made there is dropped)."""
    for stale in [p for p in src.rglob("__pycache__") if p.is_dir()]:
        shutil.rmtree(stale)
    compile_bytecode(src)
    files = sorted((path for path in src.rglob("*") if path.is_file()),
                   key=lambda path: path.relative_to(src).as_posix())
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(src).as_posix(), date_time=ZIP_TIME)
            info.create_system = 3  # Unix, so the mode below is honoured
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.external_attr = (0o100000 | mode) << 16  # a regular file
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                zf.writestr(info, f.read(), compresslevel=6)
    tmp.replace(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="homolog",
                        help="stage to package with (any stage can then be applied)")
    parser.add_argument("--skip-layer", action="store_true",
                        help="keep an existing build/media-layer.zip")
    args = parser.parse_args()
    BUILD.mkdir(exist_ok=True)
    chalice_package(args.stage, BUILD / "chalice")
    post_process(BUILD / "chalice", args.stage)
    layer = BUILD / "media-layer.zip"
    if not (args.skip_layer and layer.exists()):
        build_media_layer(layer)
    print(f"built {BUILD / 'chalice'} and {layer} ({layer.stat().st_size // 2**20} MiB)")


if __name__ == "__main__":
    main()
