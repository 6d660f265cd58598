"""Lazily created, reused boto3 clients.

boto3 reads AWS_ENDPOINT_URL, so the same code talks to AWS or the local emulator.
Clients are thread-safe and shared; boto3 resources are not, so each thread
(Lambda has one; the local server has several) gets its own Table.
"""
import threading
from functools import lru_cache

_per_thread = threading.local()


@lru_cache(maxsize=None)
def client(service: str):
    import boto3
    from botocore.config import Config
    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 4}))


def dynamodb_table(name: str):
    tables = getattr(_per_thread, "tables", None)
    if tables is None:
        tables = _per_thread.tables = {}
    if name not in tables:
        import boto3
        tables[name] = boto3.session.Session().resource("dynamodb").Table(name)
    return tables[name]
