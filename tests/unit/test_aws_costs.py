"""The billing rules `make bench` prices a job with (tools/costs.py): DynamoDB's
item sizes and units, indexes included, and the lines of a job's cost."""
from collections import Counter

import pytest

from tools.costs import (GB, Invocation, JobMeasure, Prices, Retention, StoredObject,
                         IndexShape, TableShape, FunctionConfig, Units, item_size, load_prices,
                         price_job,
                         read_call_units, stored_bytes, value_size, write_call_units)

JOBS = TableShape("jobId", None, {"by-owner": IndexShape("ownerId", "createdAt"),
                                  "by-open": IndexShape("sweepKey", "updatedAt"),
                                  "by-follows": IndexShape("follows", "createdAt")})


def s(text):
    return {"S": text}


def job_item(padding=0, **extra):
    item = {"jobId": s("j1"), "ownerId": s("acme"), "createdAt": s("2030-01-01T00:00:00Z"),
            "updatedAt": s("2030-01-01T00:00:00Z"), "pad": s("x" * padding)}
    item.update(extra)
    return item


def test_item_sizes_follow_dynamodbs_rules():
    assert item_size({"name": s("hello")}) == 4 + 5
    assert value_size({"N": "123"}) == 3 and value_size({"N": "1.50"}) == 2  # digits / 2 + 1
    assert value_size({"N": "0"}) == 2
    assert value_size({"BOOL": True}) == 1 and value_size({"NULL": True}) == 1
    # A map or list: 3 bytes, plus each element (and its name) and a byte each.
    assert value_size({"M": {"a": s("x")}}) == 3 + 1 + 1 + 1
    assert value_size({"L": [s("ab"), {"N": "7"}]}) == 3 + (2 + 1) + (2 + 1)
    assert item_size(None) == 0


def test_a_write_costs_a_unit_per_kb_on_the_table_and_on_each_index_it_touches():
    created = job_item(padding=900, sweepKey=s("open"))  # ~1 KB: in by-owner and by-open
    assert write_call_units(JOBS, None, created, True) == Units(writes=1, index_writes=2)
    # A change that keeps every index key: one write per index the item is in.
    bigger = dict(created, pad=s("x" * 1500))
    assert write_call_units(JOBS, created, bigger, True) == Units(writes=2, index_writes=4)
    # A changed index key (updatedAt, by-open's sort key) is a delete and a put there.
    moved = dict(created, updatedAt=s("2030-01-01T00:00:05Z"))
    assert write_call_units(JOBS, created, moved, True) == Units(writes=1, index_writes=1 + 2)
    assert write_call_units(JOBS, created, moved, True).by_index == {"by-owner": 1, "by-open": 2}
    # Leaving a sparse index deletes its entry; nothing changed writes no index.
    closed = {k: v for k, v in created.items() if k != "sweepKey"}
    assert write_call_units(JOBS, created, closed, True) == Units(writes=1, index_writes=2)
    assert write_call_units(JOBS, created, created, True) == Units(writes=1)
    # A failed condition costs the item's units on the table, and no index.
    assert write_call_units(JOBS, bigger, bigger, False) == Units(writes=2)


def test_a_narrow_index_is_written_only_when_what_it_projects_changes():
    shape = TableShape("jobId", None, {
        "by-open": IndexShape("sweepKey", "updatedAt", "INCLUDE", ("status",)),
        "by-owner": IndexShape("ownerId", "createdAt", "KEYS_ONLY")})
    created = job_item(padding=1500, sweepKey=s("open"), status=s("pending"))  # 2 KB
    # Each entry holds the keys (and status): a unit each, however large the item.
    assert write_call_units(shape, None, created, True) == Units(writes=2, index_writes=2)
    # Nothing either index holds changed: neither is written.
    padded = dict(created, pad=s("y" * 1500))
    assert write_call_units(shape, created, padded, True) == Units(writes=2)
    # An included attribute changed: by-open's entry is put again; by-owner holds keys only.
    started = dict(created, status=s("processing"))
    assert write_call_units(shape, created, started, True).by_index == {"by-open": 1}
    assert stored_bytes(shape, created) == (item_size(created) + 100) + sum(
        item_size({k: created[k] for k in keys}) + 100
        for keys in (("jobId", "sweepKey", "updatedAt", "status"),
                     ("jobId", "ownerId", "createdAt")))


def test_reads_cost_a_unit_per_4_kb_half_when_eventually_consistent():
    big = job_item(padding=5000)
    assert read_call_units([big], consistent=True) == Units(reads=2)
    assert read_call_units([big], consistent=False) == Units(reads=1)
    assert read_call_units([None], consistent=True) == Units(reads=1)  # not found: still 1
    # A query: the items it read together, rounded up once.
    assert read_call_units([job_item(padding=1900)] * 3, consistent=False) == Units(reads=1)
    assert read_call_units([], consistent=False) == Units(reads=0.5)


def test_storage_counts_the_item_and_each_index_entry_with_100_bytes_each():
    item = job_item(padding=100, sweepKey=s("open"))
    assert stored_bytes(JOBS, item) == 3 * (item_size(item) + 100)


ONES = Prices("2030-01-01", "us-east-1", {name: 1.0 for name in (
    "api_gateway_request", "lambda_request", "lambda_gb_second", "lambda_ephemeral_gb_second",
    "dynamodb_write_unit", "dynamodb_read_unit", "dynamodb_storage_gb_month",
    "dynamodb_pitr_gb_month", "s3_put_request", "s3_get_request", "s3_storage_gb_month",
    "s3_tag_month", "sqs_request", "egress_gb")})


def test_a_jobs_lines_count_what_each_function_did_as_aws_bills_it():
    functions = {"api": FunctionConfig(512), "processor": FunctionConfig(2048, 1536),
                 "sweep": FunctionConfig(256)}
    measure = JobMeasure(
        "flux-schnell", price_usd=0.003, download_bytes=GB // 2, item_bytes=GB // 4,
        sweep_reads=0.25,
        invocations=[
            Invocation("api", "submit", 0.0101, Counter({"dynamodb.PutItem": 2}),
                       Units(writes=2, index_writes=3)),
            Invocation("api", "status", 0.004, Counter({"dynamodb.GetItem": 1}), Units(reads=1),
                       per_job=3),
            Invocation("processor", "succeeded", 0.5, Counter(
                {"s3.PutObject": 2, "s3.HeadObject": 1, "sqs.SendMessage": 1})),
            Invocation("sweep", "share", 1.0, Counter({"dynamodb.Query": 1}), Units(reads=0.5),
                       per_job=0.001),
        ],
        objects=[StoredObject("original", GB // 2, tags=1),
                 StoredObject("thumbnail", GB // 8, tags=1)])
    keep = Retention({"original": None, "thumbnail": 365}, kept_months=12)
    priced = price_job(measure, functions, keep, ONES)
    usd = {line.what.split(" (")[0].split(",")[0].split(":")[0]: line.usd
           for line in priced.lines}
    assert usd["API Gateway requests"] == 4  # submit and 3 polls
    assert usd["Lambda requests"] == pytest.approx(5.001)
    # Billed per started millisecond: 11 ms, 3 x 4 ms, 500 ms, and 1 s for a thousandth.
    assert usd["Lambda duration"] == pytest.approx(
        0.011 * 0.5 + 3 * 0.004 * 0.5 + 0.5 * 2 + 0.001 * 1.0 * 0.25)
    assert usd["Lambda /tmp above 512 MB"] == pytest.approx(0.5 * 1.0)
    assert usd["DynamoDB writes"] == 5
    assert usd["DynamoDB reads"] == pytest.approx(3 + 0.0005 + 0.25)
    assert usd["DynamoDB storage and PITR"] == pytest.approx(0.25 * 12 * 2)
    assert usd["SQS requests"] == 3  # the message sent, received and deleted
    assert usd["S3 requests PUT class / GET class"] == 2 + 1 + 1  # + the download
    assert usd["S3 storage"] == pytest.approx(0.5 * 12 + 0.125 * 365 / 30.4375)
    assert usd["S3 object tags"] == pytest.approx(12 + 365 / 30.4375)
    assert priced.egress.usd == 0.5
    assert priced.ratio == pytest.approx(priced.total / 0.003)
    assert priced.requests["API Gateway"] == 4 and priced.requests["sqs"] == 3
    assert priced.index_writes == {}  # the measured units said no index


def stored(*objects: StoredObject) -> JobMeasure:
    return JobMeasure("flux-schnell", 0.003, [], list(objects), download_bytes=0, item_bytes=0)


def line_usd(priced, what: str) -> float:
    (usd,) = [line.usd for line in priced.lines if line.what.startswith(what)]
    return usd


def test_only_the_tags_objects_carry_are_billed_and_untagged_objects_are_kept():
    """Homolog's shape: the thumbnail expires after 365 days (tagged), the original and
    the extra output are kept (no rule reads their kind: untagged, no tag billed)."""
    keep = Retention({"original": None, "output": None, "thumbnail": 365}, kept_months=12)
    priced = price_job(stored(StoredObject("original", GB, tags=0),
                              StoredObject("output", GB, tags=0),
                              StoredObject("thumbnail", GB // 8, tags=1)), {}, keep, ONES)
    assert line_usd(priced, "S3 object tags") == pytest.approx(365 / 30.4375)
    assert line_usd(priced, "S3 storage") == pytest.approx(2 * 12 + 0.125 * 365 / 30.4375)


def test_an_untagged_object_of_a_kind_a_rule_expires_is_kept_as_no_rule_finds_it():
    keep = Retention({"original": 30, "thumbnail": 365}, kept_months=12)
    priced = price_job(stored(StoredObject("original", GB, tags=0)), {}, keep, ONES)
    assert line_usd(priced, "S3 storage") == pytest.approx(12)
    assert line_usd(priced, "S3 object tags") == 0


def test_the_kinds_tagged_are_those_a_rule_expires():
    assert Retention({"original": None, "output": None, "thumbnail": 365},
                     kept_months=12).expiring_kinds == ("thumbnail",)
    assert Retention({"original": 30, "output": 30, "thumbnail": None},
                     kept_months=12).expiring_kinds == ("original", "output")


def test_the_price_list_has_a_date_a_region_and_a_source_for_every_price():
    import json
    from tools.costs import PRICES_FILE
    data = json.loads(PRICES_FILE.read_text())
    assert data["region"] == "us-east-1" and data["date"]
    assert all(entry["source"].startswith("https://aws.amazon.com/")
               for entry in data["prices"].values())
    prices = load_prices()
    assert set(prices.usd) == set(ONES.usd)


def test_capacity_is_rate_times_runs_times_duration_for_an_even_mix():
    from tools.costs import Load, Priced, capacity_lines

    def priced(seconds, index_wru):
        m = JobMeasure("m", 0.01, [Invocation("api", "submit", seconds),
                                   Invocation("api", "status", seconds, per_job=3)], [], 0, 0)
        return Priced(m, [], None, {}, {"by-open": index_wru})
    lines = capacity_lines([priced(0.1, 10), priced(0.3, 20)], Load(864_000, 10),
                           {"by-open": "every job"})
    # 10 jobs/s; 4 runs per job of 0.1 s or 0.3 s: 0.8 s of API per job on average.
    assert "api             4.00 runs per job,  200.0 ms each: concurrency    8.0 on average," \
           "   80.0 at peak" in lines[1]
    assert "15.0 WRU per job:    150 WRU/s on average,   1500 at peak, if every job" in lines[2]
