"""The jobs store on DynamoDB (chalicelib/jobs/persistence.py is its interface): each
state change one UpdateItem conditioned on the status; every query one index."""
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from botocore.exceptions import ClientError

from chalicelib.clock import iso, parse_iso
from chalicelib.jobs.model import ACTIVE, Job, JobResult, JobStatus, StoredOutput
from chalicelib.jobs.persistence import IndexedJob, JobPage, JobQuery, UsageRow
from chalicelib.resources import Index, table_keys
from chalicelib.store import (AlreadyExists, StaleTransition, from_dynamo,
                              is_conditional_failure, to_dynamo)


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
_DATETIME_FIELDS = {"created_at", "updated_at", "started_at", "completed_at", "reconciled_at",
                    "copying_until", "start_at"}


def _attribute(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.title() for p in rest)


def _encode(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field in _DATETIME_FIELDS:
        return iso(value)
    if isinstance(value, JobStatus):
        return value.value
    if isinstance(value, JobResult):
        return to_dynamo({"s3Path": value.s3_path,
                          "outputs": [{_attribute(k): v for k, v in asdict(o).items()
                                       if v is not None} for o in value.outputs]})
    return to_dynamo(value)


def _owner_user(owner_id: str, user_id: str) -> str:
    """The by-user index's key: one client's end user."""
    return f"{owner_id}#{user_id}"


def created_order_of(created_at: datetime, job_id: str) -> str:
    """The listing indexes' sort key: the creation time, then the job id, so jobs created
    in the same millisecond list in one order, page after page."""
    return f"{iso(created_at)}#{job_id}"


def job_to_item(job: Job) -> dict:
    item = {_attribute(f.name): _encode(f.name, getattr(job, f.name)) for f in fields(Job)
            if getattr(job, f.name) is not None}
    item[BY_USER.hash_key] = _owner_user(job.owner_id, job.user_id)
    item[BY_OWNER.range_key] = item[BY_USER.range_key] = created_order_of(job.created_at,
                                                                          job.job_id)
    if job.status in ACTIVE or job.notification_pending:
        item[SWEEP_KEY] = OPEN  # in the sparse by-open index the sweep reads
    return item


def job_from_item(item: dict) -> Job:
    item = from_dynamo(item)
    values = {}
    for f in fields(Job):
        value = item.get(_attribute(f.name))
        if value is not None and f.name in _DATETIME_FIELDS:
            value = parse_iso(value)
        elif f.name == "status":
            value = JobStatus(value)
        elif f.name == "result" and value is not None:
            value = JobResult(value["s3Path"], [StoredOutput(
                **{o.name: out.get(_attribute(o.name)) for o in fields(StoredOutput)})
                for out in value["outputs"]])
        values[f.name] = value
    return Job(**values)


class DynamoJobStore:
    def __init__(self, table):
        self.table = table

    def create(self, job: Job) -> None:
        try:
            self.table.put_item(Item=job_to_item(job),
                                ConditionExpression="attribute_not_exists(jobId)")
        except ClientError as e:
            if is_conditional_failure(e):
                raise AlreadyExists(job.job_id) from e
            raise

    def get(self, job_id: str) -> Optional[Job]:
        item = self.table.get_item(Key={"jobId": job_id}, ConsistentRead=True).get("Item")
        return job_from_item(item) if item else None

    def update(self, job_id: str, changes: Dict[str, Any],
               from_statuses: Iterable[JobStatus]) -> Job:
        names = {"#status": "status"}
        values: Dict[str, Any] = {}
        sets, removes = [], []
        for i, (field, value) in enumerate(changes.items()):
            names[f"#f{i}"] = _attribute(field)
            if value is None:
                removes.append(f"#f{i}")
            else:
                values[f":v{i}"] = _encode(field, value)
                sets.append(f"#f{i} = :v{i}")
        allowed = []
        for i, status in enumerate(from_statuses):
            values[f":s{i}"] = JobStatus(status).value
            allowed.append(f":s{i}")
        if "notification_pending" in changes and changes["notification_pending"] is None:
            # The end's event is queued: nothing is left for the sweep.
            names["#open"] = SWEEP_KEY
            removes.append("#open")
        expression = ("SET " + ", ".join(sets) if sets else "") + \
                     (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            resp = self.table.update_item(
                Key={"jobId": job_id}, UpdateExpression=expression.strip(),
                ConditionExpression=f"attribute_exists(jobId) AND #status IN ({', '.join(allowed)})",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW")
        except ClientError as e:
            if is_conditional_failure(e):
                raise StaleTransition(job_id) from e
            raise
        return job_from_item(resp["Attributes"])

    def claim_copy(self, job_id: str, until: datetime, now: datetime) -> bool:
        return self._set_while_active(
            job_id, "SET copyingUntil = :until",
            "attribute_not_exists(copyingUntil) OR copyingUntil <= :now",
            {":until": iso(until), ":now": iso(now)})

    def raise_progress(self, job_id: str, progress: float) -> bool:
        return self._set_while_active(job_id, "SET progress = :p",
                                      "attribute_not_exists(progress) OR progress < :p",
                                      {":p": to_dynamo(progress)})

    def _set_while_active(self, job_id: str, update: str, condition: str, values: dict) -> bool:
        """One write to a pending or processing job, if ``condition`` holds; False if not."""
        try:
            self.table.update_item(
                Key={"jobId": job_id}, UpdateExpression=update,
                ConditionExpression=f"attribute_exists(jobId) AND #s IN (:pending, :processing) "
                                    f"AND ({condition})",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={**values, ":pending": JobStatus.PENDING.value,
                                           ":processing": JobStatus.PROCESSING.value})
            return True
        except ClientError as e:
            if is_conditional_failure(e):
                return False
            raise

    @staticmethod
    def _owner_index(owner_id: str, user_id: Optional[str]) -> Tuple[Index, str]:
        """One end user's jobs (by-user), or all of the client's (by-owner), and the key."""
        if user_id is not None:
            return BY_USER, _owner_user(owner_id, user_id)
        return BY_OWNER, owner_id

    def list(self, query: JobQuery) -> JobPage:
        index, key = self._owner_index(query.owner_id, query.user_id)
        names, values = {"#h": index.hash_key}, {":h": key}
        condition = "#h = :h"
        if query.since is not None:  # the time alone sorts before any key starting with it
            condition += " AND #created >= :since"
            names["#created"], values[":since"] = index.range_key, iso(query.since)
        filters = []
        if query.status is not None:
            names["#status"], values[":status"] = "status", JobStatus(query.status).value
            filters.append("#status = :status")
        if query.model_id is not None:
            names["#model"], values[":model"] = "modelId", query.model_id
            filters.append("#model = :model")
        kwargs = {"IndexName": index.name, "KeyConditionExpression": condition,
                  "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
                  "ScanIndexForward": False, "Limit": query.limit}
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if query.start_after:
            kwargs["ExclusiveStartKey"] = dict(query.start_after)
        page = self.table.query(**kwargs)
        return JobPage([job_from_item(i) for i in page.get("Items", [])],
                       page.get("LastEvaluatedKey"))

    def latest_with_cache_key(self, cache_key: str, since: datetime,
                              limit: int = 10) -> List[Job]:
        page = self.table.query(
            IndexName=BY_CACHE_KEY.name, KeyConditionExpression="#h = :k AND #r >= :since",
            ExpressionAttributeNames={"#h": BY_CACHE_KEY.hash_key, "#r": BY_CACHE_KEY.range_key},
            ExpressionAttributeValues={":k": cache_key, ":since": iso(since)},
            ScanIndexForward=False, Limit=limit)
        return [indexed_job(i) for i in page.get("Items", [])]

    def usage_rows(self, owner_id: str, user_id: Optional[str], start: datetime,
                   end: datetime) -> Iterator[UsageRow]:
        index, key = self._owner_index(owner_id, user_id)
        kwargs = {"IndexName": index.name,
                  "KeyConditionExpression": "#h = :h AND #r BETWEEN :low AND :high",
                  "ExpressionAttributeNames": {"#h": index.hash_key, "#r": index.range_key,
                                               "#s": "status"},
                  "ExpressionAttributeValues": {":h": key, ":low": iso(start), ":high": iso(end)},
                  "ProjectionExpression": "createdAt, modelId, #s, cached, estimatedCost, "
                                          "predictTime, provider"}
        while True:
            page = self.table.query(**kwargs)
            for item in map(from_dynamo, page.get("Items", [])):
                if item["createdAt"] < iso(end):  # the end is excluded
                    yield UsageRow(parse_iso(item["createdAt"]), item["modelId"],
                                   JobStatus(item["status"]), bool(item.get("cached")),
                                   float(item.get("estimatedCost") or 0),
                                   item.get("predictTime"), item.get("provider"))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def open_jobs(self, updated_before: datetime) -> Iterator[Job]:
        kwargs = {"IndexName": BY_OPEN.name,
                  "KeyConditionExpression": "#k = :open AND #r <= :before",
                  "ExpressionAttributeNames": {"#k": SWEEP_KEY, "#r": BY_OPEN.range_key},
                  "ExpressionAttributeValues": {":open": OPEN, ":before": iso(updated_before)}}
        while True:
            page = self.table.query(**kwargs)
            yield from (indexed_job(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def followers_of(self, job_id: str) -> List[str]:
        ids, kwargs = [], {}
        while True:
            page = self.table.query(IndexName=BY_FOLLOWS.name, KeyConditionExpression="#h = :j",
                                    ExpressionAttributeNames={"#h": BY_FOLLOWS.hash_key},
                                    ExpressionAttributeValues={":j": job_id}, **kwargs)
            ids += [i["jobId"] for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
