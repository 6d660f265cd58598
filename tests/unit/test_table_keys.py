"""The stores against chalicelib/resources.json, the one declaration of the tables
(Terraform and the local stack build them from it): every index a store queries is
declared, with the key attributes its query names and its items carry, and every
write that can create an item names its table's keys and sets its TTL attribute."""
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.dynamo_stores import (DynamoApiKeyStore, DynamoCheckStore, DynamoCounterStore,
                                      DynamoStartSchedule)
from chalicelib.idempotency.dynamodb import DynamoIdempotencyStore
from chalicelib.idempotency.record import IdempotencyRecord, RecordStatus
from chalicelib.jobs.dynamodb import DynamoJobStore
from chalicelib.jobs.items import job_to_item
from chalicelib.jobs.model import JobStatus
from chalicelib.jobs.persistence import JobQuery
from chalicelib.keys import ApiKeys
from chalicelib.limits import SubmissionWindow
from chalicelib.notifications.dynamodb import DynamoDeliveryStore, DynamoWebhookConfigStore
from chalicelib.notifications.model import Delivery, Endpoint, Target
from chalicelib.resources import load_spec, table_keys
from chalicelib.uploads.dynamodb import DynamoUploadStore
from chalicelib.uploads.model import Upload
from tests.fakes import T0, FakeClock, World

_KEYWORDS = {"AND", "OR", "BETWEEN", "begins_with", "SET", "ADD", "REMOVE"}


class RecordingTable:
    """A table that records each call and answers as an empty table would."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, operation):
        def call(*keys, **kwargs):
            self.calls.append((operation, kwargs))
            if operation == "batch_get":
                return []
            if operation == "update_item":
                return {"Attributes": {"count": 1, "nextFree": 1}}
            return {"Items": []} if operation == "query" else {}
        return call


def named_attributes(expression: str, names: dict) -> set:
    """The attributes an expression names, its #placeholders resolved."""
    tokens = re.findall(r"[#:]?[A-Za-z_]\w*", expression)
    return {names.get(t, t) for t in tokens if not t.startswith(":") and t not in _KEYWORDS}


def every_index_query() -> list:
    table = RecordingTable()
    store = DynamoJobStore(table)
    store.list(JobQuery("acme", 20))
    store.list(JobQuery("acme", 20, user_id="alice", since=T0))
    store.list(JobQuery("acme", 20, status=JobStatus.COMPLETED, model_id="flux-schnell"))
    store.latest_with_cache_key("k", T0)
    list(store.usage_rows("acme", None, T0, T0 + timedelta(days=1)))
    list(store.usage_rows("acme", "alice", T0, T0 + timedelta(days=1)))
    list(store.open_jobs(T0))
    store.followers_of("j0")
    return [kwargs for operation, kwargs in table.calls if operation == "query"]


def test_every_index_the_jobs_store_queries_is_declared_with_the_keys_its_query_names():
    declared = table_keys("jobs").indexes
    queried = set()
    for query in every_index_query():
        index = declared[query["IndexName"]]
        queried.add(index.name)
        named = named_attributes(query["KeyConditionExpression"],
                                 query.get("ExpressionAttributeNames", {}))
        assert index.hash_key in named and named <= {index.hash_key, index.range_key}, query
    assert queried == set(declared)  # an index no query reads costs a write per job


def test_every_attribute_an_index_query_reads_or_filters_on_is_projected_there():
    """An index returns only what it projects: a filter on anything else matches
    nothing, and a projection of anything else reads nothing."""
    jobs = load_spec()["tables"]["jobs"]
    for query in every_index_query():
        index = jobs["indexes"][query["IndexName"]]
        if index["projection"] == "ALL":
            continue
        names = query.get("ExpressionAttributeNames", {})
        read = set().union(*(named_attributes(query[part], names) for part in
                             ("ProjectionExpression", "FilterExpression") if part in query))
        projected = {jobs["hash_key"], index["hash_key"], index.get("range_key"),
                     *index.get("attributes", ())}
        assert read <= projected, (query["IndexName"], read - projected)


def test_a_job_s_item_carries_the_keys_of_every_index_it_belongs_to():
    job = World().submit()
    assert job.status in (JobStatus.PENDING, JobStatus.PROCESSING)
    item = job_to_item(replace(job, cache_key="k", follows="j0"))  # in every index
    jobs = table_keys("jobs")
    assert jobs.hash_key in item
    for index in jobs.indexes.values():
        assert {index.hash_key, index.range_key} - {None} <= set(item), index
    done = job_to_item(replace(job, status=JobStatus.COMPLETED, notification_pending=None))
    assert jobs.index("by-open").hash_key not in done  # the sweep's index is sparse


NOW = T0
RECORD = IdempotencyRecord("acme#k1", "POST /x {}", RecordStatus.IN_PROGRESS, NOW,
                           NOW + timedelta(days=1))
UPLOAD = Upload("u1", "acme", None, "image/png", 10, NOW, NOW + timedelta(hours=1))
DELIVERY = Delivery("j1", "wh_1", "job.completed", Target("job", "https://h.example/"))
ENDPOINT = Endpoint("acme", "ep1", "https://h.example/", ("job.completed",), NOW)
# Each store's writes that can create an item, by table (its name in resources.json).
WRITES = {
    "jobs": [lambda t: DynamoJobStore(t).create(World().submit())],
    "api-keys": [lambda t: ApiKeys(DynamoApiKeyStore(t), FakeClock()).create("acme")],
    "counters": [lambda t: DynamoCounterStore(t).write_window("s", SubmissionWindow(), 1),
                 lambda t: DynamoCounterStore(t).add_below("s", "polls", 1, 5, 1),
                 lambda t: DynamoStartSchedule(t).take(1.0, 0.1, 2.0),
                 lambda t: DynamoStartSchedule(t).hold(10.0),
                 lambda t: DynamoCheckStore(t).claim("replicate", NOW, NOW)],
    "idempotency": [lambda t: DynamoIdempotencyStore(t).claim(RECORD, NOW)],
    "webhooks": [lambda t: DynamoWebhookConfigStore(t).add_endpoint(ENDPOINT, 10)],
    "deliveries": [lambda t: DynamoDeliveryStore(t).create(DELIVERY)],
    "uploads": [lambda t: DynamoUploadStore(t).put(UPLOAD)],
}


def test_every_table_s_writes_are_listed():
    assert set(WRITES) == set(load_spec()["tables"])


@pytest.mark.parametrize("logical,write", [(t, w) for t, ws in WRITES.items() for w in ws])
def test_a_write_names_its_table_s_keys_and_sets_its_ttl(logical, write):
    table = RecordingTable()
    write(table)
    writes = [(op, kw) for op, kw in table.calls if op in ("put_item", "update_item")]
    assert writes
    keys = table_keys(logical)
    key_attributes = {keys.hash_key, keys.range_key} - {None}
    for operation, kwargs in writes:
        if operation == "put_item":
            written = set(kwargs["Item"])
            assert key_attributes <= written, kwargs
        else:
            assert set(kwargs["Key"]) == key_attributes, kwargs
            written = set(kwargs["Key"]) | named_attributes(
                kwargs["UpdateExpression"], kwargs.get("ExpressionAttributeNames", {}))
        if keys.ttl_attribute:
            assert keys.ttl_attribute in written, kwargs


def test_the_listing_indexes_sort_by_creation_time_then_job_id():
    """DynamoDB leaves the order of equal sort keys open: the key itself breaks ties."""
    from chalicelib.jobs.items import BY_OWNER, BY_USER
    first = replace(World().submit(), job_id="a-job")
    second = replace(first, job_id="b-job")
    for index in (BY_OWNER, BY_USER):
        assert job_to_item(first)[index.range_key] < job_to_item(second)[index.range_key]
        assert job_to_item(first)[index.range_key].startswith(job_to_item(first)["createdAt"])
