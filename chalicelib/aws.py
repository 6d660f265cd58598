"""Lazily created boto3 clients, shared by every thread of the process.

boto3 reads AWS_ENDPOINT_URL, so the same code talks to AWS or the local emulator.
DynamoDB is reached through the low-level client (thread-safe, unlike boto3
resources; chalice local serves each request on a new thread) behind a small
Table with the resource API's plain-Python items.
"""
import time
from functools import lru_cache
from typing import List

# The most keys one BatchGetItem request takes (DynamoDB's limit).
BATCH_GET_MAX_KEYS = 100
# How many requests a batch read makes for keys DynamoDB keeps leaving unprocessed.
_BATCH_ROUNDS = 6


class BatchIncomplete(Exception):
    """DynamoDB kept some keys of a batch read unprocessed (sustained throttling)."""


@lru_cache(maxsize=None)
def client(service: str):
    import boto3
    from botocore.config import Config
    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 4}))


@lru_cache(maxsize=None)
def presigner():
    """S3 links signed with SigV4: their query names the headers they fix
    (X-Amz-SignedHeaders) and when they expire (X-Amz-Expires). Signing makes no call."""
    import boto3
    from botocore.config import Config
    return boto3.client("s3", config=Config(signature_version="s3v4"))


class Table:
    _ITEM_KEYS = ("Item", "Key", "ExclusiveStartKey", "ExpressionAttributeValues")
    _RESULT_KEYS = ("Item", "Attributes", "LastEvaluatedKey")

    def __init__(self, name: str, dynamodb=None):
        """``dynamodb``: a client of its own (default: the process's shared one)."""
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
        self.name = name
        self._dynamodb = dynamodb
        self._to, self._from = TypeSerializer(), TypeDeserializer()

    @property
    def dynamodb(self):
        return self._dynamodb or client("dynamodb")

    def _call(self, operation: str, **kwargs) -> dict:
        for key in self._ITEM_KEYS:
            if key in kwargs:
                kwargs[key] = {k: self._to.serialize(v) for k, v in kwargs[key].items()}
        response = getattr(self.dynamodb, operation)(TableName=self.name, **kwargs)
        for key in self._RESULT_KEYS:
            if key in response:
                response[key] = self._plain(response[key])
        if "Items" in response:
            response["Items"] = [self._plain(i) for i in response["Items"]]
        return response

    def _plain(self, item: dict) -> dict:
        return {k: self._from.deserialize(v) for k, v in item.items()}

    def put_item(self, **kwargs):
        return self._call("put_item", **kwargs)

    def get_item(self, **kwargs):
        return self._call("get_item", **kwargs)

    def update_item(self, **kwargs):
        return self._call("update_item", **kwargs)

    def delete_item(self, **kwargs):
        return self._call("delete_item", **kwargs)

    def query(self, **kwargs):
        return self._call("query", **kwargs)

    def scan(self, **kwargs):
        return self._call("scan", **kwargs)

    def batch_get(self, keys: List[dict], consistent: bool = False,
                  **projection) -> List[dict]:
        """The items at ``keys`` (100 to a request), in no particular order; a missing one
        is left out. Keys DynamoDB leaves unprocessed (throttling) are asked again after a
        pause, a few times, before it gives up. ``projection``: ProjectionExpression and
        ExpressionAttributeNames."""
        items: List[dict] = []
        for start in range(0, len(keys), BATCH_GET_MAX_KEYS):
            pending = [{k: self._to.serialize(v) for k, v in key.items()}
                       for key in keys[start:start + BATCH_GET_MAX_KEYS]]
            for attempt in range(_BATCH_ROUNDS):
                if not pending:
                    break
                if attempt:
                    time.sleep(0.05 * 2 ** attempt)
                response = self.dynamodb.batch_get_item(RequestItems={self.name: {
                    "Keys": pending, "ConsistentRead": consistent, **projection}})
                items += map(self._plain, response.get("Responses", {}).get(self.name, []))
                pending = response.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", [])
            if pending:
                raise BatchIncomplete(f"{self.name}: {len(pending)} keys left unread after "
                                      f"{_BATCH_ROUNDS} requests")
        return items


@lru_cache(maxsize=None)
def dynamodb_table(name: str) -> Table:
    return Table(name)
