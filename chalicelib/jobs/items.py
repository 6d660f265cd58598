"""A job as its item in the jobs table: attribute names, encodings, and the keys of the
indexes it belongs to (chalicelib/resources.json declares them)."""
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from chalicelib.clock import iso, parse_iso
from chalicelib.jobs.model import ACTIVE, Job, JobResult, JobStatus, StoredOutput
from chalicelib.jobs.persistence import IndexedJob
from chalicelib.resources import table_keys
from chalicelib.store import from_dynamo, to_dynamo


def indexed_job(item: dict) -> IndexedJob:
    item = from_dynamo(item)
    return IndexedJob(item["jobId"], JobStatus(item["status"]),
                      parse_iso(item["updatedAt"]) if item.get("updatedAt") else None,
                      int(item.get("estimatedTime") or 0), item.get("follows"))


# The indexes every query reads, with their keys, as resources.json declares them.
_JOBS = table_keys("jobs")
BY_OWNER, BY_USER = _JOBS.index("by-owner"), _JOBS.index("by-user")
BY_CACHE_KEY, BY_FOLLOWS = _JOBS.index("by-cache-key"), _JOBS.index("by-follows")
BY_OPEN = _JOBS.index("by-open")
# Jobs still needing attention (active, or their end's event unsent) carry the open
# index's key; that sparse index holds only them, so the sweep never scans.
SWEEP_KEY, OPEN = BY_OPEN.hash_key, "open"
DATETIME_FIELDS = {"created_at", "updated_at", "started_at", "completed_at", "reconciled_at",
                   "copying_until", "start_at"}


def attribute_of(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.title() for p in rest)


def encode(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field in DATETIME_FIELDS:
        return iso(value)
    if isinstance(value, JobStatus):
        return value.value
    if isinstance(value, JobResult):
        return to_dynamo({"s3Path": value.s3_path,
                          "outputs": [{attribute_of(k): v for k, v in asdict(o).items()
                                       if v is not None} for o in value.outputs]})
    return to_dynamo(value)


def owner_user(owner_id: str, user_id: str) -> str:
    """The by-user index's key: one client's end user."""
    return f"{owner_id}#{user_id}"


def created_order_of(created_at: datetime, job_id: str) -> str:
    """The listing indexes' sort key: the creation time, then the job id, so jobs created
    in the same millisecond list in one order, page after page."""
    return f"{iso(created_at)}#{job_id}"


def job_to_item(job: Job) -> dict:
    item = {attribute_of(f.name): encode(f.name, getattr(job, f.name)) for f in fields(Job)
            if getattr(job, f.name) is not None}
    item[BY_USER.hash_key] = owner_user(job.owner_id, job.user_id)
    item[BY_OWNER.range_key] = item[BY_USER.range_key] = created_order_of(job.created_at,
                                                                          job.job_id)
    if job.status in ACTIVE or job.notification_pending:
        item[SWEEP_KEY] = OPEN  # in the sparse by-open index the sweep reads
    return item


def job_from_item(item: dict) -> Job:
    item = from_dynamo(item)
    values = {}
    for f in fields(Job):
        value = item.get(attribute_of(f.name))
        if value is not None and f.name in DATETIME_FIELDS:
            value = parse_iso(value)
        elif f.name == "status":
            value = JobStatus(value)
        elif f.name == "result" and value is not None:
            value = JobResult(value["s3Path"], [StoredOutput(
                **{o.name: out.get(attribute_of(o.name)) for o in fields(StoredOutput)})
                for out in value["outputs"]])
        values[f.name] = value
    return Job(**values)
