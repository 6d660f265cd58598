"""Locally, as on AWS, only a job's original wakes the thumbnailer."""
import json
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws

from chalicelib import aws
from chalicelib.resources import resource_names
from local.provision import media_events_queue, provision, provision_local_events


@pytest.fixture
def emulated(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    aws.client.cache_clear()
    with mock_aws():
        yield
    aws.client.cache_clear()


def test_only_originals_are_notified(emulated):
    provision("local")
    provision_local_events("local")
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    bucket = resource_names("local").media_bucket
    folder = "images/user123/2026/11/25/job-1"
    for name in ("original.png", "output-2.png", "thumbnail.jpg"):
        s3.put_object(Bucket=bucket, Key=f"{folder}/{name}", Body=b"x")
    url = sqs.get_queue_url(QueueName=media_events_queue("local"))["QueueUrl"]
    keys = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for m in messages:
            body = json.loads(m["Body"])
            keys += [unquote_plus(r["s3"]["object"]["key"]) for r in body.get("Records", [])]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert keys == [f"{folder}/original.png"]
