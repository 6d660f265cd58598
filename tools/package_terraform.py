"""Build the deployable artifacts Terraform applies, under build/:

  build/chalice/          the functions, as a Terraform module: `chalice package
                          --pkg-format terraform`, post-processed (below)
  build/media-layer.zip   the Lambda layer with the media libraries

Post-processing makes Chalice's output (written for Terraform < 1.4 and AWS
provider < 5) a module for today's Terraform (aws/chalice issue 2066):
  - drops its `terraform` pins and the null provider's data source;
  - takes the queue, bucket, layer and extra environment as variables instead of
    names baked in at package time, so Terraform orders and wires them;
  - drops Chalice's generated IAM policy (`Resource: "*"`): the service module
    attaches a least-privilege one to the role, exported as an output;
  - puts the API Gateway behind `enable_api_gateway` (the emulator rejects the
    Swagger 2.0 body) and every function behind `enable_functions`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
MEDIA_FUNCTIONS = ("process_job_event", "make_thumbnail")
# Lambda's runtime for the functions; the layer's wheels are chosen for it.
LAYER_PYTHON = "3.11"
API_RESOURCES = {"aws_api_gateway_rest_api": "rest_api", "aws_api_gateway_deployment": "rest_api",
                 "aws_api_gateway_stage": "rest_api"}

VARIABLES = {
    "stage": {"type": "string", "description": "Stage: the API stage, and VSL_STAGE of the functions"},
    "name_prefix": {"type": "string", "description": "Prefix of the functions', role's and API's names (SERVICE-STAGE)"},
    "jobs_queue_arn": {"type": "string", "description": "ARN of the queue the processor consumes"},
    "media_bucket_name": {"type": "string", "description": "Bucket whose new originals wake the thumbnailer"},
    "media_bucket_arn": {"type": "string", "description": "ARN of that bucket"},
    "media_layer_arns": {"type": "list(string)", "description": "Layers with the media libraries (processor, thumbnailer)"},
    "environment": {"type": "map(string)", "description": "Extra environment for every function", "default": {}},
    "enable_functions": {"type": "bool", "description": "Create the Lambda functions and their triggers", "default": True},
    "enable_api_gateway": {"type": "bool", "description": "Create the REST API (the emulator cannot)", "default": True},
    "tracing_mode": {"type": "string", "description": "X-Ray tracing mode of the functions", "default": "Active"},
    "log_retention_days": {"type": "number", "description": "Days the API's access logs are kept", "default": 30},
}


# Checks that do not fit these functions, with the reason; written next to the
# module as checkov's config (JSON Terraform cannot carry skip comments).
CHECKOV_SKIPS = {
    "CKV_AWS_115": "No reserved concurrency by default: reserving it on a new account "
                   "(unreserved pool must stay >= 10) fails the deploy; SQS batch size and "
                   "the per-user rate limits bound the load instead.",
    "CKV_AWS_116": "No Lambda DLQ needed: the processor is SQS-triggered (the queue has a "
                   "DLQ), the API is invoked synchronously, and the S3-triggered thumbnailer "
                   "has an on-failure destination (aws_lambda_function_event_invoke_config).",
    "CKV_AWS_117": "Not in a VPC: the functions reach only AWS APIs and Replicate on the "
                   "internet; a VPC would add NAT cost and cold-start time for no isolation.",
    "CKV_AWS_272": "Code signing needs a Signer profile in the deploying account; the "
                   "package is built and applied by the same pipeline.",
    "CKV_AWS_173": "Environment variables are encrypted at rest with the AWS-managed key; "
                   "the Replicate token belongs in Secrets Manager (open work).",
    "CKV_AWS_120": "No API Gateway cache: every response is per caller and per job state.",
    "CKV2_AWS_51": "Public API authenticated by API keys in the app, not client certificates.",
    "CKV2_AWS_4": "Execution logging needs an account-wide API Gateway CloudWatch role; "
                  "access logs are on (stage access_log_settings) and the functions log.",
    "CKV2_AWS_29": "WAF is an account/edge decision outside this module; per-user rate "
                   "limits are enforced by the app.",
    "CKV_AWS_225": "No API Gateway caching (see CKV_AWS_120), so no cache encryption.",
    "CKV_AWS_158": "The API access log group uses CloudWatch's default encryption at rest; "
                   "it holds request metadata only (see the service module's log groups).",
}


def chalice_package(stage: str, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    env = dict(os.environ, AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run([str(chalice), "package", "--stage", stage, "--pkg-format", "terraform",
                    str(out)], cwd=ROOT, env=env, check=True)


def post_process(module_dir: Path, stage: str) -> dict:
    path = module_dir / "chalice.tf.json"
    tf = json.loads(path.read_text())
    resources = tf["resource"]
    app_name = resources["aws_api_gateway_rest_api"]["rest_api"]["name"]
    baked_prefix = f"{app_name}-{stage}"

    tf["terraform"] = {"required_providers": {"aws": {"source": "hashicorp/aws"}}}
    tf["data"].pop("null_data_source", None)
    tf["variable"] = VARIABLES
    resources.pop("aws_iam_role_policy")
    role = resources["aws_iam_role"]["default-role"]
    role["name"] = "${var.name_prefix}"
    role["count"] = "${var.enable_functions ? 1 : 0}"
    rest_api = resources["aws_api_gateway_rest_api"]["rest_api"]
    rest_api["name"] = "${var.name_prefix}"
    rest_api["lifecycle"] = {"create_before_destroy": True}

    functions = resources["aws_lambda_function"]
    for name, fn in functions.items():
        fn["count"] = "${var.enable_functions ? 1 : 0}"
        assert fn["function_name"].startswith(baked_prefix), fn["function_name"]
        fn["function_name"] = "${var.name_prefix}" + fn["function_name"][len(baked_prefix):]
        baked = json.dumps(fn["environment"]["variables"])
        fn["environment"]["variables"] = "${merge(jsondecode(%s), var.environment)}" % json.dumps(baked)
        fn["tracing_config"] = {"mode": "${var.tracing_mode}"}
        if name in MEDIA_FUNCTIONS:
            fn["layers"] = "${var.media_layer_arns}"

    (mapping,) = resources["aws_lambda_event_source_mapping"].values()
    mapping["event_source_arn"] = "${var.jobs_queue_arn}"
    mapping["count"] = "${var.enable_functions ? 1 : 0}"
    (notification,) = resources["aws_s3_bucket_notification"].values()
    notification["bucket"] = "${var.media_bucket_name}"
    notification["count"] = "${var.enable_functions ? 1 : 0}"
    notification["depends_on"] = ["aws_lambda_permission.make_thumbnail-s3event"]
    permissions = resources["aws_lambda_permission"]
    permissions["make_thumbnail-s3event"]["source_arn"] = "${var.media_bucket_arn}"
    permissions["make_thumbnail-s3event"]["count"] = "${var.enable_functions ? 1 : 0}"
    permissions["rest_api_invoke"]["count"] = \
        "${var.enable_functions && var.enable_api_gateway ? 1 : 0}"
    # A deployment's stage_name is deprecated in provider 5: an explicit stage.
    deployment = resources["aws_api_gateway_deployment"]["rest_api"]
    deployment.pop("stage_name")
    stage_name = "${var.stage}"
    deployment["triggers"] = {"redeployment": deployment.pop("stage_description")}
    resources["aws_api_gateway_stage"] = {"rest_api": {
        "stage_name": stage_name, "rest_api_id": deployment["rest_api_id"],
        "deployment_id": "${aws_api_gateway_deployment.rest_api.id}",
        "xray_tracing_enabled": "${var.tracing_mode == \"Active\"}",
        "access_log_settings": {
            "destination_arn": "${aws_cloudwatch_log_group.api_access[0].arn}",
            "format": json.dumps({"requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
                                  "time": "$context.requestTime", "method": "$context.httpMethod",
                                  "path": "$context.resourcePath", "status": "$context.status",
                                  "latencyMs": "$context.responseLatency"})}}}
    resources["aws_cloudwatch_log_group"] = {"api_access": {
        "count": "${var.enable_functions && var.enable_api_gateway ? 1 : 0}",
        "name": "/aws/apigateway/${var.name_prefix}-access",
        "retention_in_days": "${var.log_retention_days}"}}
    for kind, name in API_RESOURCES.items():
        resources[kind][name]["count"] = \
            "${var.enable_functions && var.enable_api_gateway ? 1 : 0}"

    text = json.dumps(tf, indent=2)
    # Counted resources are referenced by index.
    for fn in functions:
        text = text.replace(f"aws_lambda_function.{fn}.", f"aws_lambda_function.{fn}[0].")
    for kind, name in API_RESOURCES.items():
        text = text.replace(f"{kind}.{name}.", f"{kind}.{name}[0].")
    text = text.replace("aws_iam_role.default-role.", "aws_iam_role.default-role[0].")
    tf = json.loads(text)
    # The Swagger body (a local) is evaluated even when no function exists.
    tf["locals"]["chalice_api_swagger"] = tf["locals"]["chalice_api_swagger"].replace(
        "${aws_lambda_function.api_handler[0].invoke_arn}",
        '${try(aws_lambda_function.api_handler[0].invoke_arn, "")}')
    tf["output"] = {
        "role_name": {"value": "${one(aws_iam_role.default-role[*].name)}"},
        "function_names": {"value": {fn: f"${{one(aws_lambda_function.{fn}[*].function_name)}}"
                                     for fn in functions}},
        "thumbnailer_arn": {"value": "${one(aws_lambda_function.make_thumbnail[*].arn)}"},
        "endpoint_url": {"value": "${one(aws_api_gateway_stage.rest_api[*].invoke_url)}"},
    }
    path.write_text(json.dumps(tf, indent=2) + "\n")
    (module_dir / ".checkov.yaml").write_text(
        "# Written by tools/package_terraform.py; reasons in CHECKOV_SKIPS there.\n"
        + "".join(f"# {check}: {reason}\n" for check, reason in CHECKOV_SKIPS.items())
        + "skip-check:\n" + "".join(f"  - {check}\n" for check in CHECKOV_SKIPS))
    return tf


def build_media_layer(out: Path) -> None:
    """The media libraries as manylinux2014 wheels for Lambda's Python 3.11."""
    staging = BUILD / "media-layer"
    if staging.exists():
        shutil.rmtree(staging)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
                    "--platform", "manylinux2014_x86_64", "--implementation", "cp",
                    "--python-version", LAYER_PYTHON, "--only-binary=:all:",
                    "--target", str(staging / "python"),
                    "-r", str(ROOT / "requirements-media.txt")], check=True)
    write_reproducible_zip(staging, out)


# Zip entries carry a fixed time and mode: the same files give the same bytes,
# so a deploy without changes uploads no new layer version.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write_reproducible_zip(src: Path, out: Path) -> None:
    """Zip the files under ``src`` (paths relative to it) in sorted order."""
    files = sorted((path for path in src.rglob("*")
                    if path.is_file() and "__pycache__" not in path.parts),
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
