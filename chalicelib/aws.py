"""Lazily created boto3 clients, shared by every thread of the process.

boto3 reads AWS_ENDPOINT_URL, so the same code talks to AWS or the local emulator.
DynamoDB is reached through the low-level client (thread-safe, unlike boto3
resources; chalice local serves each request on a new thread) behind a small
Table with the resource API's plain-Python items.
"""
from functools import lru_cache


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


@lru_cache(maxsize=None)
def dynamodb_table(name: str) -> Table:
    return Table(name)
