"""Names and settings of the AWS resources the service uses.

``resources.json`` beside this module is the single source: the app, the local
provisioning and Terraform all read it, so the three cannot drift apart.
"""
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Optional

_SPEC_PATH = os.path.join(os.path.dirname(__file__), "resources.json")


@lru_cache(maxsize=1)
def load_spec() -> dict:
    """Read once per process; callers must not modify it."""
    with open(_SPEC_PATH) as f:
        return json.load(f)


@dataclass(frozen=True)
class ResourceNames:
    jobs_table: str
    api_keys_table: str
    counters_table: str
    idempotency_table: str
    webhooks_table: str
    deliveries_table: str
    uploads_table: str
    jobs_queue: str
    jobs_dlq: str
    notifications_queue: str
    notifications_dlq: str
    # Where S3 events the thumbnailer failed three times go (its on-failure destination).
    thumbnailer_failures_queue: str
    media_bucket: str


def resource_names(stage: str, bucket_override: Optional[str] = None) -> ResourceNames:
    spec = load_spec()
    prefix = f"{spec['service']}-{stage}"
    tables = {logical: f"{prefix}-{logical}" for logical in spec["tables"]}
    return ResourceNames(
        jobs_table=tables["jobs"],
        api_keys_table=tables["api-keys"],
        counters_table=tables["counters"],
        idempotency_table=tables["idempotency"],
        webhooks_table=tables["webhooks"],
        deliveries_table=tables["deliveries"],
        uploads_table=tables["uploads"],
        jobs_queue=f"{prefix}-jobs",
        jobs_dlq=f"{prefix}-jobs-dlq",
        notifications_queue=f"{prefix}-notifications",
        notifications_dlq=f"{prefix}-notifications-dlq",
        thumbnailer_failures_queue=f"{prefix}-thumbnailer-failures",
        media_bucket=bucket_override or f"{prefix}-{spec['bucket']['suffix']}",
    )


@dataclass(frozen=True)
class Index:
    """A table's secondary index: what a query names and the key attributes its items
    carry."""
    name: str
    hash_key: str
    range_key: Optional[str] = None


@dataclass(frozen=True)
class TableKeys:
    """A table's key attributes, its TTL attribute and its indexes, by index name."""
    hash_key: str
    range_key: Optional[str]
    ttl_attribute: Optional[str]
    indexes: Dict[str, Index]

    def index(self, name: str) -> Index:
        """The index of that name (KeyError when resources.json declares none)."""
        return self.indexes[name]


def table_keys(logical: str) -> TableKeys:
    """The keys of the table ``logical`` names in resources.json (``jobs``, ...)."""
    table = load_spec()["tables"][logical]
    return TableKeys(table["hash_key"], table.get("range_key"), table.get("ttl_attribute"),
                     {name: Index(name, ix["hash_key"], ix.get("range_key"))
                      for name, ix in table.get("indexes", {}).items()})


def stage_settings(stage: str) -> dict:
    stages = load_spec()["stages"]
    if stage not in stages:
        raise ValueError(f"unknown stage {stage!r}; known: {sorted(stages)}")
    return stages[stage]


@dataclass(frozen=True)
class UploadsSpec:
    """Where clients' uploads live in the media bucket, and how long: a lifecycle rule
    deletes them after ``expiration_days`` (Terraform and the local provisioning)."""
    prefix: str
    expiration_days: int


def uploads_spec() -> UploadsSpec:
    spec = load_spec()["bucket"]["uploads"]
    return UploadsSpec(spec["prefix"], spec["expiration_days"])
