"""Create the service's tables, queues and bucket on the emulator, from
chalicelib/resources.json (the same source Terraform reads). Safe to re-run."""
import json
import logging

import boto3
from botocore.exceptions import ClientError

from chalicelib.media import CONTENT_TYPES
from chalicelib.resources import load_spec, resource_names, stage_settings, uploads_spec
from chalicelib.storage import output_name

log = logging.getLogger("provision")

# On AWS, S3 invokes the thumbnailer directly (retried twice, then dropped to an
# on-failure destination). Locally, S3 notifies this queue and the event delivery
# loop plays that role: 3 receives, then its dead-letter queue.
MEDIA_EVENTS_MAX_RECEIVES = 3
# The kinds of stored object the local bucket expires: none (its one rule, _uploads_rules,
# is by prefix), as Terraform's expiry variables default to. So nothing is tagged locally.
EXPIRING_KINDS: tuple = ()


def media_events_queue(stage: str) -> str:
    return f"{load_spec()['service']}-{stage}-media-events"


def provision(stage: str = "local") -> None:
    """The service's own resources: what Terraform creates for a stage too."""
    spec, names, settings = load_spec(), resource_names(stage), stage_settings(stage)
    ddb, sqs, s3 = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("s3")
    for logical, table in spec["tables"].items():
        _create_table(ddb, f"{spec['service']}-{stage}-{logical}", table)
    for logical, queue in spec["queues"].items():
        name = f"{spec['service']}-{stage}-{logical}"
        _create_queue(sqs, name, f"{name}-dlq", settings["queue_visibility_timeout_s"],
                      queue["max_receive_count"], queue["message_retention_s"],
                      queue["dlq_retention_s"])
    _create_bucket(s3, names.media_bucket)
    _uploads_rules(s3, names.media_bucket)


def provision_local_events(stage: str = "local") -> None:
    """What only the local stack needs: S3 events routed to a queue the event
    delivery loop reads (on AWS, S3 invokes the thumbnailer itself), and the
    thumbnailer's on-failure queue (on AWS created with the functions)."""
    spec, names, settings = load_spec(), resource_names(stage), stage_settings(stage)
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    queue = spec["queues"]["jobs"]
    sqs.create_queue(QueueName=names.thumbnailer_failures_queue, Attributes={
        "MessageRetentionPeriod": str(queue["dlq_retention_s"])})
    events_name = media_events_queue(stage)
    events_url = _create_queue(sqs, events_name, f"{events_name}-dlq",
                               settings["queue_visibility_timeout_s"], MEDIA_EVENTS_MAX_RECEIVES,
                               queue["message_retention_s"], queue["dlq_retention_s"])
    events_arn = sqs.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    # Only originals, as on AWS (tools/package_terraform.py): one rule per suffix.
    s3.put_bucket_notification_configuration(
        Bucket=names.media_bucket,
        NotificationConfiguration={"QueueConfigurations": [
            {"Id": f"original.{ext}", "QueueArn": events_arn, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [
                 {"Name": "suffix", "Value": "/" + output_name(0, ext)}]}}}
            for ext in sorted(CONTENT_TYPES)]})


def _create_table(ddb, name: str, table: dict) -> None:
    attributes = {table["hash_key"]}
    indexes = []
    for index_name, index in table["indexes"].items():
        keys = [{"AttributeName": index["hash_key"], "KeyType": "HASH"}]
        attributes.add(index["hash_key"])
        if index.get("range_key"):
            keys.append({"AttributeName": index["range_key"], "KeyType": "RANGE"})
            attributes.add(index["range_key"])
        projection = {"ProjectionType": index["projection"]}
        if index["projection"] == "INCLUDE":
            projection["NonKeyAttributes"] = index["attributes"]
        indexes.append({"IndexName": index_name, "KeySchema": keys, "Projection": projection})
    key_schema = [{"AttributeName": table["hash_key"], "KeyType": "HASH"}]
    if table.get("range_key"):
        key_schema.append({"AttributeName": table["range_key"], "KeyType": "RANGE"})
        attributes.add(table["range_key"])
    kwargs = {"TableName": name, "BillingMode": "PAY_PER_REQUEST", "KeySchema": key_schema,
              "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"}
                                       for a in sorted(attributes)]}
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    try:
        ddb.create_table(**kwargs)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceInUseException":
            raise
    ddb.get_waiter("table_exists").wait(TableName=name)
    if table.get("ttl_attribute"):
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": table["ttl_attribute"]})


def _create_queue(sqs, name: str, dlq_name: str, visibility_s: int, max_receives: int,
                  retention_s: int, dlq_retention_s: int) -> str:
    dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes={
        "MessageRetentionPeriod": str(dlq_retention_s)})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(visibility_s),
        "MessageRetentionPeriod": str(retention_s),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": str(max_receives)})})["QueueUrl"]


def _create_bucket(s3, name: str) -> None:
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def _uploads_rules(s3, bucket: str) -> None:
    """What Terraform sets for clients' uploads: they expire after a day, and browsers
    may PUT them with their presigned link (the emulator enforces neither)."""
    uploads = uploads_spec()
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": f"expire-prefix-{uploads.prefix.rstrip('/')}", "Status": "Enabled",
        "Filter": {"Prefix": uploads.prefix},
        "Expiration": {"Days": uploads.expiration_days}}]})
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "AllowedMethods": ["PUT"], "AllowedOrigins": ["*"], "AllowedHeaders": ["content-type"],
        "MaxAgeSeconds": 3600}]})


def provision_secret(stage: str, secret_name: str, value: str) -> str:
    """A provider's credential in Secrets Manager, where the functions read it on AWS
    (Terraform creates it there: local.iam names the secrets); its ARN."""
    secrets = boto3.client("secretsmanager")
    name = f"{load_spec()['service']}-{stage}/{secret_name}"
    try:
        return secrets.create_secret(Name=name, SecretString=value)["ARN"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceExistsException":
            raise
        secrets.put_secret_value(SecretId=name, SecretString=value)
        return secrets.describe_secret(SecretId=name)["ARN"]
