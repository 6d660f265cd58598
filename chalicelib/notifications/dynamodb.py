"""DynamoDB backends: the webhooks table (a client's endpoints and its signing
secret, one partition per client) and the deliveries table (one partition per job)."""
from datetime import timedelta
from typing import List, Optional

from botocore.exceptions import ClientError

from chalicelib.clock import iso, parse_iso
from chalicelib.notifications.model import (ROTATION_OVERLAP_S, Delivery, DeliveryState,
                                            Endpoint, RetiredSecret, SigningSecrets, Target)
from chalicelib.notifications.persistence import TooManyEndpoints

_ENDPOINT, _SECRET, _COUNT, _SLOT = "endpoint#", "secret", "endpoint-count", "send-slot#"


def _failed_condition(e: ClientError) -> bool:
    return e.response["Error"]["Code"] in ("ConditionalCheckFailedException",
                                           "TransactionCanceledException")


def _endpoint(item: dict) -> Endpoint:
    return Endpoint(client_id=item["clientId"], endpoint_id=item["endpointId"], url=item["url"],
                    events=tuple(item["events"]), created_at=parse_iso(item["createdAt"]),
                    description=item.get("description"),
                    disabled_at=parse_iso(item["disabledAt"]) if item.get("disabledAt") else None)


class DynamoWebhookConfigStore:
    def __init__(self, table):
        self.table = table

    def add_endpoint(self, endpoint: Endpoint, max_per_client: int) -> None:
        # A counter item bounds the endpoints: one conditional write, then the put.
        try:
            self.table.update_item(
                Key={"clientId": endpoint.client_id, "itemId": _COUNT},
                UpdateExpression="ADD #n :one",
                ConditionExpression="attribute_not_exists(#n) OR #n < :max",
                ExpressionAttributeNames={"#n": "count"},
                ExpressionAttributeValues={":one": 1, ":max": max_per_client})
        except ClientError as e:
            if _failed_condition(e):
                raise TooManyEndpoints() from None
            raise
        item = {"clientId": endpoint.client_id, "itemId": _ENDPOINT + endpoint.endpoint_id,
                "endpointId": endpoint.endpoint_id, "url": endpoint.url,
                "events": list(endpoint.events), "createdAt": iso(endpoint.created_at)}
        if endpoint.description:
            item["description"] = endpoint.description
        self.table.put_item(Item=item)

    def endpoints(self, client_id: str) -> List[Endpoint]:
        page = self.table.query(
            KeyConditionExpression="clientId = :c AND begins_with(itemId, :p)",
            ExpressionAttributeValues={":c": client_id, ":p": _ENDPOINT}, ConsistentRead=True)
        return sorted((_endpoint(i) for i in page.get("Items", [])), key=lambda e: e.created_at)

    def delete_endpoint(self, client_id: str, endpoint_id: str) -> bool:
        try:
            self.table.delete_item(Key={"clientId": client_id, "itemId": _ENDPOINT + endpoint_id},
                                   ConditionExpression="attribute_exists(itemId)")
        except ClientError as e:
            if _failed_condition(e):
                return False
            raise
        self.table.update_item(Key={"clientId": client_id, "itemId": _COUNT},
                               UpdateExpression="ADD #n :minus",
                               ExpressionAttributeNames={"#n": "count"},
                               ExpressionAttributeValues={":minus": -1})
        return True

    def disable_endpoint(self, client_id: str, endpoint_id: str, at) -> None:
        try:
            self.table.update_item(
                Key={"clientId": client_id, "itemId": _ENDPOINT + endpoint_id},
                UpdateExpression="SET disabledAt = :t", ConditionExpression="attribute_exists(itemId)",
                ExpressionAttributeValues={":t": iso(at)})
        except ClientError as e:
            if not _failed_condition(e):
                raise

    def take_send_slot(self, client_id: str, slots: int, holder: str, until,
                       now) -> Optional[int]:
        for slot in range(slots):
            try:
                self.table.put_item(
                    Item={"clientId": client_id, "itemId": f"{_SLOT}{slot}", "holder": holder,
                          "until": iso(until)},
                    ConditionExpression="attribute_not_exists(itemId) OR #u <= :now",
                    ExpressionAttributeNames={"#u": "until"},
                    ExpressionAttributeValues={":now": iso(now)})
                return slot
            except ClientError as e:
                if not _failed_condition(e):
                    raise
        return None

    def release_send_slot(self, client_id: str, slot: int, holder: str, now) -> None:
        try:
            self.table.update_item(
                Key={"clientId": client_id, "itemId": f"{_SLOT}{slot}"},
                UpdateExpression="SET #u = :now", ConditionExpression="holder = :holder",
                ExpressionAttributeNames={"#u": "until"},
                ExpressionAttributeValues={":now": iso(now), ":holder": holder})
        except ClientError as e:
            if not _failed_condition(e):
                raise

    def secrets(self, client_id: str) -> Optional[SigningSecrets]:
        item = self.table.get_item(Key={"clientId": client_id, "itemId": _SECRET},
                                   ConsistentRead=True).get("Item")
        if not item:
            return None
        retired = tuple(RetiredSecret(r["key"], parse_iso(r["validUntil"]))
                        for r in item.get("retired", []))
        if item.get("previous") and item.get("rotatedAt"):  # written before "retired"
            retired += (RetiredSecret(item["previous"], parse_iso(item["rotatedAt"]) +
                                      timedelta(seconds=ROTATION_OVERLAP_S)),)
        return SigningSecrets(item["current"], retired)

    def put_secrets(self, client_id: str, secrets: SigningSecrets,
                    expected_current: Optional[str]) -> bool:
        item = {"clientId": client_id, "itemId": _SECRET, "current": secrets.current}
        if secrets.retired:
            item["retired"] = [{"key": r.key, "validUntil": iso(r.valid_until)}
                               for r in secrets.retired]
        kwargs = ({"ConditionExpression": "attribute_not_exists(itemId)"}
                  if expected_current is None else
                  {"ConditionExpression": "#c = :expected",
                   "ExpressionAttributeNames": {"#c": "current"},
                   "ExpressionAttributeValues": {":expected": expected_current}})
        try:
            self.table.put_item(Item=item, **kwargs)
            return True
        except ClientError as e:
            if _failed_condition(e):
                return False
            raise


def _delivery_item(d: Delivery) -> dict:
    item = {"jobId": d.job_id, "webhookId": d.webhook_id, "event": d.event,
            "targetKind": d.target.kind, "url": d.target.url, "state": d.state.value,
            "attempts": d.attempts}
    optional = {"endpointId": d.target.endpoint_id, "lastStatus": d.last_status,
                "lastError": d.last_error,
                "deliveredAt": iso(d.delivered_at) if d.delivered_at else None,
                "nextAttemptAt": iso(d.next_attempt_at) if d.next_attempt_at else None}
    item.update({k: v for k, v in optional.items() if v is not None})
    return item


def _delivery(item: dict) -> Delivery:
    return Delivery(
        job_id=item["jobId"], webhook_id=item["webhookId"], event=item["event"],
        target=Target(item["targetKind"], item["url"], item.get("endpointId")),
        state=DeliveryState(item["state"]), attempts=int(item["attempts"]),
        last_status=int(item["lastStatus"]) if item.get("lastStatus") is not None else None,
        last_error=item.get("lastError"),
        delivered_at=parse_iso(item["deliveredAt"]) if item.get("deliveredAt") else None,
        next_attempt_at=parse_iso(item["nextAttemptAt"]) if item.get("nextAttemptAt") else None)


class DynamoDeliveryStore:
    def __init__(self, table):
        self.table = table

    def create(self, delivery: Delivery) -> bool:
        try:
            self.table.put_item(Item=_delivery_item(delivery),
                                ConditionExpression="attribute_not_exists(webhookId)")
            return True
        except ClientError as e:
            if _failed_condition(e):
                return False
            raise

    def get(self, job_id: str, webhook_id: str) -> Optional[Delivery]:
        item = self.table.get_item(Key={"jobId": job_id, "webhookId": webhook_id},
                                   ConsistentRead=True).get("Item")
        return _delivery(item) if item else None

    def save_attempt(self, delivery: Delivery, previous_attempts: int) -> bool:
        try:
            self.table.put_item(Item=_delivery_item(delivery),
                                ConditionExpression="attempts = :prev AND #s = :pending",
                                ExpressionAttributeNames={"#s": "state"},
                                ExpressionAttributeValues={
                                    ":prev": previous_attempts,
                                    ":pending": DeliveryState.PENDING.value})
            return True
        except ClientError as e:
            if _failed_condition(e):
                return False
            raise

    def for_job(self, job_id: str) -> List[Delivery]:
        page = self.table.query(KeyConditionExpression="jobId = :j",
                                ExpressionAttributeValues={":j": job_id}, ConsistentRead=True)
        return [_delivery(i) for i in page.get("Items", [])]
