"""Upload records in DynamoDB, one item per upload. DynamoDB's TTL removes an item
a week after its upload expired: until then a use answers 410, afterwards 404."""
from datetime import timedelta
from typing import Optional, Protocol

from chalicelib.clock import iso, parse_iso
from chalicelib.store import from_dynamo, to_dynamo
from chalicelib.uploads.model import Upload

# How long an expired upload's record is kept to say so (410) before it is forgotten.
REMEMBER_EXPIRED = timedelta(days=7)


class UploadStore(Protocol):
    def put(self, upload: Upload) -> None: ...

    def get(self, upload_id: str) -> Optional[Upload]: ...


def upload_to_item(upload: Upload) -> dict:
    item = {"uploadId": upload.upload_id, "clientId": upload.client_id,
            "contentType": upload.content_type, "size": upload.size,
            "createdAt": iso(upload.created_at), "expiresAt": iso(upload.expires_at),
            "forgetAt": int((upload.expires_at + REMEMBER_EXPIRED).timestamp())}
    if upload.user_id is not None:
        item["userId"] = upload.user_id
    return to_dynamo(item)


def upload_from_item(item: dict) -> Upload:
    item = from_dynamo(item)
    return Upload(upload_id=item["uploadId"], client_id=item["clientId"],
                  user_id=item.get("userId"), content_type=item["contentType"],
                  size=int(item["size"]), created_at=parse_iso(item["createdAt"]),
                  expires_at=parse_iso(item["expiresAt"]))


class DynamoUploadStore:
    def __init__(self, table):
        self.table = table

    def put(self, upload: Upload) -> None:
        # Ids are random: a collision would be a bug, and must not pass silently.
        self.table.put_item(Item=upload_to_item(upload),
                            ConditionExpression="attribute_not_exists(uploadId)")

    def get(self, upload_id: str) -> Optional[Upload]:
        item = self.table.get_item(Key={"uploadId": upload_id}, ConsistentRead=True).get("Item")
        return upload_from_item(item) if item else None
