"""The AWS emulator of the local stack: moto server, with DynamoDB's promise
that a conditional write to one item is atomic, and presigned links that still
open once IAM is enforced.

moto serves requests on threads and checks a write's condition and applies it
in separate steps, so two concurrent conditional writes to the same item can
both pass (seen as 101 admissions out of 150 simultaneous submissions against a
limit of 100). Real DynamoDB never does that; here a lock around DynamoDB's
writes restores it.

    python -m local.emulator -H 127.0.0.1 -p 5050      # moto server's own arguments
"""
import functools
import threading

from moto.dynamodb.models import DynamoDBBackend

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_lock = threading.RLock()


def _atomic(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _lock:
            return method(*args, **kwargs)
    return locked


def make_dynamodb_writes_atomic() -> None:
    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "_vsl_atomic", False):
            wrapped = _atomic(method)
            wrapped._vsl_atomic = True
            setattr(DynamoDBBackend, name, wrapped)


def let_presigned_links_through() -> None:
    """moto's IAM check reads the Authorization header, which a presigned link has not
    (the link's credentials are in its query): it answered 500. moto never checks a
    link's signature or expiry anyway; whether its signer may GetObject is checked
    where the link is made (local/iam.py sees generate_presigned_url's parameters)."""
    from urllib.parse import urlsplit

    from moto.core.authorization import ActionAuthenticatorMixin
    original = ActionAuthenticatorMixin._authenticate_and_authorize_action
    if getattr(original, "_vsl_presigned", False):
        return

    def check(self, iam_request_cls, resource="*"):
        query = urlsplit(self.uri).query
        if "Authorization" not in self.headers and \
                ("X-Amz-Credential=" in query or "AWSAccessKeyId=" in query):
            return None
        return original(self, iam_request_cls, resource)
    check._vsl_presigned = True
    ActionAuthenticatorMixin._authenticate_and_authorize_action = check


def main() -> None:
    make_dynamodb_writes_atomic()
    let_presigned_links_through()
    from moto.server import main as moto_main
    moto_main()


if __name__ == "__main__":
    main()
