"""Idempotency records in DynamoDB: one item per scoped key, expired by TTL
(filtered on read too, since TTL deletes late)."""
import json
from typing import Optional

from botocore.exceptions import ClientError

from chalicelib.clock import iso, parse_iso
from chalicelib.idempotency.persistence import RecordExists
from chalicelib.idempotency.record import IdempotencyRecord, RecordStatus, StoredResponse


def _to_item(record: IdempotencyRecord) -> dict:
    item = {"idempotencyKey": record.key, "fingerprint": record.fingerprint,
            "status": record.status.value, "startedAt": iso(record.started_at),
            "expiresAt": int(record.expires_at.timestamp())}
    if record.response is not None:
        item["response"] = _response_json(record.response)
    return item


def _response_json(response: StoredResponse) -> str:
    # Stored as JSON text: the body keeps its floats exactly as sent.
    return json.dumps({"status": response.status, "body": response.body,
                       "headers": response.headers})


def _from_item(item: dict) -> IdempotencyRecord:
    from datetime import datetime, timezone
    response = None
    if item.get("response"):
        data = json.loads(item["response"])
        response = StoredResponse(data["status"], data["body"], data["headers"])
    return IdempotencyRecord(
        key=item["idempotencyKey"], fingerprint=item["fingerprint"],
        status=RecordStatus(item["status"]), started_at=parse_iso(item["startedAt"]),
        expires_at=datetime.fromtimestamp(int(item["expiresAt"]), timezone.utc),
        response=response)


class DynamoIdempotencyStore:
    def __init__(self, table):
        self.table = table

    def claim(self, record: IdempotencyRecord, takeover_before) -> None:
        try:
            self.table.put_item(
                Item=_to_item(record),
                ConditionExpression="attribute_not_exists(idempotencyKey) OR expiresAt <= :now "
                                    "OR (#s = :in_progress AND startedAt < :stale)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":now": int(record.started_at.timestamp()),
                                           ":in_progress": RecordStatus.IN_PROGRESS.value,
                                           ":stale": iso(takeover_before)})
        except ClientError as e:
            if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            held = self.get(record.key)
            if held is None:  # it expired or was released between the two calls
                return self.claim(record, takeover_before)
            raise RecordExists(held) from None

    def complete(self, key: str, response: StoredResponse) -> None:
        self.table.update_item(
            Key={"idempotencyKey": key}, UpdateExpression="SET #s = :done, #r = :response",
            ExpressionAttributeNames={"#s": "status", "#r": "response"},
            ExpressionAttributeValues={":done": RecordStatus.COMPLETED.value,
                                       ":response": _response_json(response)})

    def release(self, key: str) -> None:
        self.table.delete_item(Key={"idempotencyKey": key})

    def get(self, key: str) -> Optional[IdempotencyRecord]:
        item = self.table.get_item(Key={"idempotencyKey": key}, ConsistentRead=True).get("Item")
        return _from_item(item) if item else None
