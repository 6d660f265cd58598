"""The one declaration of the functions' permissions (permissions.json), what the
local stack makes of it (local/iam.py), and what each AWS call needs."""
import json
from dataclasses import replace

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from chalicelib.storage import KINDS, S3MediaStorage, kind_of
from local import iam

PLACE = iam.Place(prefix="vsl-media-local", bucket="vsl-media-local-media",
                  secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:"
                             "vsl-media-local/replicate-api-token-AbCdEf")
WITH_FAL = replace(PLACE, fal_key_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:"
                                              "secret:vsl-media-local/fal-key-GhIjKl")
FUNCTIONS = ("api_handler", "process_job_event", "make_thumbnail", "deliver_notifications",
             "sweep_jobs")


@pytest.mark.parametrize("place", [PLACE, WITH_FAL], ids=["without fal", "with fal"])
def test_five_functions_each_declared_once_with_resolvable_references(place):
    assert iam.functions() == FUNCTIONS
    for fn in FUNCTIONS:
        policy = iam.rendered_policy(fn, place)
        sids = [s["Sid"] for s in policy["Statement"]]
        assert len(sids) == len(set(sids)), fn
        for statement in policy["Statement"]:
            assert all(a.split(":")[0] in ("dynamodb", "s3", "sqs", "secretsmanager", "logs",
                                           "xray") for a in statement["Action"])
            assert all(r == "*" or r.startswith("arn:aws:") for r in statement["Resource"])


def test_lambda_itself_can_log_and_trace_with_every_role():
    """What Lambda does with each role (no local run exercises it): write the
    function's own log group, and X-Ray traces (tracing Active)."""
    for fn in FUNCTIONS:
        group = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/" \
                f"{iam.function_name(PLACE.prefix, fn)}:log-stream:2030/01/01/[$LATEST]abc"
        policy = iam.rendered_policy(fn, PLACE)
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            assert iam.allows(policy, action, group), (fn, action)
            assert not iam.allows(policy, action, group.replace("/aws/lambda/", "/aws/other/"))
        for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
            assert iam.allows(policy, action, "*"), (fn, action)


def test_the_local_users_have_exactly_the_declared_actions():
    for fn in FUNCTIONS:
        declared = {a for s in iam.statements(fn, runtime=False) for a in s["actions"]}
        (statement,) = iam.emulator_policy(fn)["Statement"]
        assert statement["Resource"] == "*"  # the emulator matches actions only
        aliases = {alias for a in declared for alias in iam.EMULATOR_ALIASES.get(a, ())}
        assert set(statement["Action"]) == declared | aliases


def test_least_privilege_between_the_functions():
    def actions(fn, reference):
        return {a for s in iam.statements(fn, runtime=False) if reference in s["resources"]
                for a in s["actions"]}
    assert actions("api_handler", "table:api-keys") == {"dynamodb:GetItem"}  # never writes keys
    assert "dynamodb:DeleteItem" in actions("api_handler", "table:idempotency")
    for fn in ("process_job_event", "make_thumbnail", "deliver_notifications", "sweep_jobs"):
        assert not actions(fn, "table:api-keys"), fn
    for fn in ("make_thumbnail", "deliver_notifications"):
        assert not actions(fn, "secret:replicate-api-token"), fn
        assert not actions(fn, "secret:fal-key"), fn
    assert not any("Version" in a for fn in FUNCTIONS
                   for s in iam.statements(fn) for a in s["actions"])


def test_the_fal_keys_grant_exists_only_where_fal_is_deployed():
    """As Terraform renders the roles (iam.tf): without fal's key (no secret) its
    statements are left out, so they are neither rendered nor reported unused."""
    key = WITH_FAL.fal_key_secret_arn

    def readers(place):
        return {fn for fn in FUNCTIONS if iam.allows(iam.rendered_policy(fn, place),
                                                     "secretsmanager:GetSecretValue", key)}
    assert readers(WITH_FAL) == {"api_handler", "process_job_event", "sweep_jobs"}
    assert readers(PLACE) == set()
    assert not [s for fn in FUNCTIONS for s in iam.rendered_policy(fn, PLACE)["Statement"]
                if s["Sid"] == "FalKey"]
    assert "api_handler: secretsmanager:GetSecretValue on secret:fal-key" in \
        iam.unused([], WITH_FAL)
    assert not [grant for grant in iam.unused([], PLACE) if "fal-key" in grant]


def test_wildcards_match_as_iam_does():
    policy = {"Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]},
        {"Effect": "Allow", "Action": "dynamodb:Query",
         "Resource": ["arn:aws:dynamodb:r:1:table/t/index/by-open"]}]}
    assert iam.allows(policy, "s3:getobject", "arn:aws:s3:::b/images/x/original.png")
    assert not iam.allows(policy, "s3:GetObject", "arn:aws:s3:::b")
    assert not iam.allows(policy, "s3:PutObject", "arn:aws:s3:::b/x")
    assert iam.allows(policy, "dynamodb:Query", "arn:aws:dynamodb:r:1:table/t/index/by-open")
    assert not iam.allows(policy, "dynamodb:Query", "arn:aws:dynamodb:r:1:table/t")
    assert not iam.allows(policy, "dynamodb:Query", "arn:aws:dynamodb:r:1:table/t/index/by-user")


@pytest.mark.parametrize("operation,params,needed", [
    ("HeadBucket", {"Bucket": "b"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
    ("HeadObject", {"Bucket": "b", "Key": "k"}, [("s3:GetObject", "arn:aws:s3:::b/k")]),
    ("PutObject", {"Bucket": "b", "Key": "k", "Tagging": "kind=output"},
     [("s3:PutObject", "arn:aws:s3:::b/k"), ("s3:PutObjectTagging", "arn:aws:s3:::b/k")]),
    ("PutObject", {"Bucket": "b", "Key": "k"}, [("s3:PutObject", "arn:aws:s3:::b/k")]),
    ("CopyObject", {"Bucket": "b", "Key": "new", "CopySource": {"Bucket": "b", "Key": "old"},
                    "TaggingDirective": "REPLACE", "Tagging": "kind=original"},
     [("s3:PutObject", "arn:aws:s3:::b/new"), ("s3:GetObject", "arn:aws:s3:::b/old"),
      ("s3:PutObjectTagging", "arn:aws:s3:::b/new")]),
    # A kind no rule expires: its copy replaces the source's tags with none.
    ("CopyObject", {"Bucket": "b", "Key": "new", "CopySource": {"Bucket": "b", "Key": "old"},
                    "TaggingDirective": "REPLACE"},
     [("s3:PutObject", "arn:aws:s3:::b/new"), ("s3:GetObject", "arn:aws:s3:::b/old")]),
    ("CopyObject", {"Bucket": "b", "Key": "new", "CopySource": "b/old"},
     [("s3:PutObject", "arn:aws:s3:::b/new"), ("s3:GetObject", "arn:aws:s3:::b/old"),
      ("s3:GetObjectTagging", "arn:aws:s3:::b/old")]),
    ("PutObjectTagging", {"Bucket": "b", "Key": "k", "VersionId": "v1"},
     [("s3:PutObjectVersionTagging", "arn:aws:s3:::b/k")]),
])
def test_what_an_s3_call_needs(operation, params, needed):
    assert iam.needs("s3", operation, params, PLACE) == needed


def test_what_table_queue_and_secret_calls_need():
    assert iam.needs("dynamodb", "Query", {"TableName": "t", "IndexName": "by-open"}, PLACE) == [
        ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/by-open")]
    assert iam.needs("sqs", "SendMessage", {"QueueUrl": "http://h:1/123456789012/q"}, PLACE) == [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")]
    assert iam.needs("secretsmanager", "GetSecretValue", {"SecretId": PLACE.secret_arn},
                     PLACE) == [("secretsmanager:GetSecretValue", PLACE.secret_arn)]
    with pytest.raises(iam.UnmappedCall):  # a new kind of call must be mapped first
        iam.needs("lambda", "Invoke", {"FunctionName": "f"}, PLACE)


def test_a_refused_call_names_the_function_the_action_and_the_resource(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    session = boto3.session.Session(region_name="us-east-1")
    iam.Audit("make_thumbnail", PLACE, tmp_path).install(session)
    # Nothing listens there: the audit refuses before any request is sent.
    client = session.client("dynamodb", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(ClientError) as refused:
        client.get_item(TableName="vsl-media-local-api-keys", Key={"keyHash": {"S": "x"}})
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "make_thumbnail may not dynamodb:GetItem" in str(refused.value)
    assert iam.refusals(iam.read_audit(tmp_path)) == [
        "make_thumbnail: dynamodb.GetItem needs dynamodb:GetItem on arn:aws:dynamodb:us-east-1:"
        "123456789012:table/vsl-media-local-api-keys: denied by the policy"]


# ---- copies: one request, whatever boto3 or s3transfer runs them ----------------------

@pytest.mark.parametrize("key,kind", [("a/b/original.png", "original"),
                                      ("a/b/output-2.mp4", "output"),
                                      ("a/b/thumbnail.jpg", "thumbnail")])
def test_a_stored_objects_kind_is_read_from_its_name(key, kind):
    assert kind_of(key) == kind


@pytest.mark.parametrize("expiring,tagging", [
    (KINDS, {"Tagging": "kind=original"}),
    (["thumbnail"], {}),  # a kind no rule expires: the source's tags are dropped
])
def test_a_copy_is_one_copyobject_request_tagged_with_the_copys_kind(expiring, tagging):
    """boto3's managed copy (s3transfer) turns a large copy into a multipart upload and
    then re-tags it with PutObjectVersionTagging (recent versions) or drops the tags
    (the one Lambda bundles): the Stubber refuses any request but this one."""
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("copy_object", {}, expected_params={
            "Bucket": "bucket", "Key": "new/original.png",
            "CopySource": {"Bucket": "bucket", "Key": "old/original.png"},
            "MetadataDirective": "COPY", "TaggingDirective": "REPLACE", **tagging})
        S3MediaStorage("bucket", lambda: client, presign_expiry_s=3600,
                       expiring_kinds=expiring).copy("old/original.png", "new/original.png")
        stub.assert_no_pending_responses()


@mock_aws
def test_a_large_copy_keeps_its_type_and_gets_its_kind_tag(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x",
                      aws_secret_access_key="x")
    s3.create_bucket(Bucket="bucket")
    s3.put_object(Bucket="bucket", Key="old/output-2.mp4", Body=b"v" * (20 * 2**20),
                  ContentType="video/mp4", Tagging="kind=output")
    S3MediaStorage("bucket", lambda: s3, presign_expiry_s=3600,
                   expiring_kinds=KINDS).copy("old/output-2.mp4", "new/output-2.mp4")
    head = s3.head_object(Bucket="bucket", Key="new/output-2.mp4")
    assert (head["ContentType"], head["ContentLength"]) == ("video/mp4", 20 * 2**20)
    assert s3.get_object_tagging(Bucket="bucket", Key="new/output-2.mp4")["TagSet"] == [
        {"Key": "kind", "Value": "output"}]
    assert json.dumps(iam.needs("s3", "CopyObject", {
        "Bucket": "bucket", "Key": "new/output-2.mp4", "TaggingDirective": "REPLACE",
        "Tagging": "kind=output", "CopySource": {"Bucket": "bucket", "Key": "old/output-2.mp4"}},
        PLACE)).count("Tagging") == 1  # PutObjectTagging only: no version tagging
