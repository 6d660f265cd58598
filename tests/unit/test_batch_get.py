"""The jobs table's batch read: a hundred keys to a request, every key DynamoDB leaves
unprocessed asked again, and an error, not a short answer, when it keeps leaving some."""
import pytest

import chalicelib.aws as aws
from chalicelib.aws import BatchIncomplete, Table


class BatchClient:
    """Answers batch_get_item as DynamoDB does, leaving the first ``unprocessed`` keys
    of each request unprocessed ``rounds`` times."""

    def __init__(self, missing=(), unprocessed=0, rounds=0):
        self.requests, self.missing = [], set(missing)
        self.unprocessed, self.rounds = unprocessed, rounds

    def batch_get_item(self, RequestItems):
        (table, request), = RequestItems.items()
        keys = request["Keys"]
        self.requests.append(len(keys))
        left = keys[:self.unprocessed] if self.rounds else []
        self.rounds = max(0, self.rounds - 1)
        found = [{"jobId": k["jobId"], "status": {"S": "pending"}} for k in keys[len(left):]
                 if k["jobId"]["S"] not in self.missing]
        return {"Responses": {table: found},
                "UnprocessedKeys": {table: {"Keys": left}} if left else {}}


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    monkeypatch.setattr(aws.time, "sleep", lambda s: None)


def keys(n):
    return [{"jobId": f"j{i:03}"} for i in range(n)]


def test_keys_are_read_a_hundred_at_a_time_and_missing_ones_left_out():
    client = BatchClient(missing={"j007"})
    items = Table("jobs", client).batch_get(keys(250))
    assert client.requests == [100, 100, 50]
    assert sorted(i["jobId"] for i in items) == [k["jobId"] for k in keys(250) if k["jobId"] != "j007"]
    assert items[0] == {"jobId": "j000", "status": "pending"}


def test_unprocessed_keys_are_asked_again_until_read():
    client = BatchClient(unprocessed=30, rounds=3)
    items = Table("jobs", client).batch_get(keys(100))
    assert client.requests == [100, 30, 30, 30]
    assert len(items) == 100 and len({i["jobId"] for i in items}) == 100


def test_keys_left_unprocessed_request_after_request_raise():
    client = BatchClient(unprocessed=5, rounds=99)
    with pytest.raises(BatchIncomplete):
        Table("jobs", client).batch_get(keys(10))
    assert client.requests == [10] + [5] * (aws._BATCH_ROUNDS - 1)


def test_a_batch_read_left_unfinished_is_an_outage_to_retry_not_a_500():
    from app import _is_dependency_outage
    assert _is_dependency_outage(BatchIncomplete("jobs: 5 keys left unread"))
    assert not _is_dependency_outage(ValueError("a bug"))
