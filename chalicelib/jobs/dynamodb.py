"""The jobs store on DynamoDB (chalicelib/jobs/persistence.py is its interface): each
state change one UpdateItem conditioned on the status; every query one index (a job's
item: chalicelib/jobs/items.py)."""
from datetime import datetime
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from botocore.exceptions import ClientError

from chalicelib.aws import BATCH_GET_MAX_KEYS
from chalicelib.clock import iso, parse_iso
from chalicelib.jobs.items import (BY_CACHE_KEY, BY_FOLLOWS, BY_OPEN, BY_OWNER, BY_USER, OPEN,
                                   SWEEP_KEY, attribute_of, encode, indexed_job, job_from_item,
                                   job_to_item, owner_user)
from chalicelib.jobs.model import Job, JobStatus
from chalicelib.jobs.persistence import IndexedJob, JobPage, JobQuery, UsageRow
from chalicelib.resources import Index
from chalicelib.store import (AlreadyExists, StaleTransition, from_dynamo,
                              is_conditional_failure, to_dynamo)

# What the sweep reads of each open job (IndexedJob's fields).
_OPEN_FIELDS = "jobId, #s, updatedAt, estimatedTime, follows, #k"


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
            names[f"#f{i}"] = attribute_of(field)
            if value is None:
                removes.append(f"#f{i}")
            else:
                values[f":v{i}"] = encode(field, value)
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
            return BY_USER, owner_user(owner_id, user_id)
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
        return JobPage(self._read_all([i["jobId"] for i in page.get("Items", [])]),
                       page.get("LastEvaluatedKey"))

    def _read_all(self, job_ids: List[str]) -> List[Job]:
        """The jobs, in the order given; one gone meanwhile is left out."""
        found = {i["jobId"]: i for i in self.table.batch_get([{"jobId": j} for j in job_ids])}
        return [job_from_item(found[j]) for j in job_ids if j in found]

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

    def open_jobs(self, updated_before: datetime) -> Iterator[IndexedJob]:
        # The index holds keys only, oldest first, so it is written when a job enters it and
        # when it leaves, not at every change; what a job is now is read in batches.
        kwargs = {"IndexName": BY_OPEN.name, "KeyConditionExpression": "#k = :open",
                  "ExpressionAttributeNames": {"#k": SWEEP_KEY},
                  "ExpressionAttributeValues": {":open": OPEN}}
        before = iso(updated_before)
        while True:
            page = self.table.query(**kwargs)
            ids = [i["jobId"] for i in page.get("Items", [])]
            # One batch read's worth at a time: the sweep's budget is checked between them.
            for start in range(0, len(ids), BATCH_GET_MAX_KEYS):
                chunk = ids[start:start + BATCH_GET_MAX_KEYS]
                found = {i["jobId"]: i for i in self.table.batch_get(
                    [{"jobId": j} for j in chunk], ProjectionExpression=_OPEN_FIELDS,
                    ExpressionAttributeNames={"#s": "status", "#k": SWEEP_KEY})}
                for item in filter(None, map(found.get, chunk)):
                    # Still open (it may have closed since the index was read), and quiet.
                    if item.get(SWEEP_KEY) == OPEN and item.get("updatedAt", "") <= before:
                        yield indexed_job(item)
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
