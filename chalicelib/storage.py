"""The media bucket: where results live, streaming copies, presigned links."""
from datetime import datetime
from typing import Callable, Collection, Optional, Protocol

MEDIA_PREFIXES = {"image": "images", "video": "videos", "audio": "audio"}
ORIGINAL_STEM = "original"
THUMBNAIL_NAME = "thumbnail.jpg"
# What a stored object can be (kind_of): a lifecycle rule may expire each kind.
KINDS = ("original", "output", "thumbnail")
# The largest object S3's CopyObject copies in one request; no stored object is
# larger (the processor refuses outputs above VSL_MAX_OUTPUT_BYTES, bounded below it).
MAX_COPY_BYTES = 5 * 2**30


def job_prefix(media_type: str, owner_id: str, user_id: str, created_at: datetime,
               job_id: str) -> str:
    """``{type}/{client}/{user}/{YYYY}/{MM}/{DD}/{jobId}``: the job's folder in the bucket.

    The spec's ``{type}/{user}/{date}/{jobId}`` with the owning client first, so the
    same userId under two clients never shares a prefix."""
    return (f"{MEDIA_PREFIXES[media_type]}/{owner_id}/{user_id}/{created_at:%Y/%m/%d}/"
            f"{job_id}")


def output_name(index: int, ext: str) -> str:
    """The first output is ``original.ext`` (it triggers the thumbnail); others ``output-N.ext``."""
    return f"{ORIGINAL_STEM}.{ext}" if index == 0 else f"output-{index + 1}.{ext}"


def parse_original_key(key: str) -> Optional[str]:
    """The job id from a stored original's key, or None for any other object."""
    parts = key.split("/")
    if len(parts) >= 8 and parts[0] in MEDIA_PREFIXES.values() and \
            parts[-1].startswith(ORIGINAL_STEM + "."):
        return parts[-2]
    return None


def kind_of(key: str) -> str:
    """What a stored object is, from its name: the tag its bucket's lifecycle rules read."""
    name = key.rsplit("/", 1)[-1]
    if name == THUMBNAIL_NAME:
        return "thumbnail"
    return "original" if name.startswith(ORIGINAL_STEM + ".") else "output"


def kind_tagging(kind: str, expiring_kinds: Collection[str]) -> Optional[str]:
    """The tags an object of this kind is stored with: its kind when a lifecycle rule
    expires that kind (the rule selects by it), else none (S3 bills every tag monthly)."""
    return f"kind={kind}" if kind in expiring_kinds else None


class MediaStorage(Protocol):
    def upload(self, path: str, key: str, content_type: str, kind: str) -> None:
        """Store a local file; ``kind`` (original, output, thumbnail) tags it when a
        lifecycle rule expires that kind."""

    def exists(self, key: str) -> bool: ...

    def renotify(self, key: str) -> None:
        """Make the store announce ``key`` again (its creation event was lost)."""

    def download_file(self, key: str, path: str) -> None: ...

    def copy(self, source_key: str, key: str) -> None:
        """A server-side copy (content type kept; tagged with the copy's kind when a
        lifecycle rule expires that kind, else untagged)."""

    def presigned_url(self, key: str) -> str: ...

    def upload_url(self, key: str, content_type: str, size: int, expires_s: int) -> str:
        """A presigned PUT of a file of exactly this type and size: both are in its
        signature, so S3 refuses any other."""

    def input_url(self, key: str, expires_s: int) -> str:
        """A presigned GET valid for ``expires_s`` (an input Replicate fetches)."""

    def size_of(self, key: str) -> Optional[int]:
        """The stored object's size in bytes; None when there is none."""

    def read_start(self, key: str, length: int) -> bytes:
        """The object's first ``length`` bytes (fewer when it is shorter)."""

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def check(self) -> None:
        """Raise if the bucket cannot be reached."""


class S3MediaStorage:
    def __init__(self, bucket: str, s3: Callable[[], object], presign_expiry_s: int,
                 expiring_kinds: Collection[str],
                 presigner: Optional[Callable[[], object]] = None):
        """``expiring_kinds``: the kinds the bucket's lifecycle rules expire (tagged)."""
        self.bucket = bucket
        self._s3 = s3
        self.presign_expiry_s = presign_expiry_s
        self.expiring_kinds = frozenset(expiring_kinds)
        self._presigner = presigner or s3

    @property
    def s3(self):
        return self._s3()

    def upload(self, path: str, key: str, content_type: str, kind: str) -> None:
        # From the file, part by part (multipart above 8 MB), four parts in flight: a 2 GB
        # output costs the processor about as much memory as a 2 MB one, and a stream
        # would be read ahead into memory.
        from boto3.s3.transfer import TransferConfig
        tagging = kind_tagging(kind, self.expiring_kinds)
        self.s3.upload_file(path, self.bucket, key, ExtraArgs={
            "ContentType": content_type, **({"Tagging": tagging} if tagging else {})},
            Config=TransferConfig(max_concurrency=4))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def renotify(self, key: str) -> None:
        """Copy the object onto itself: S3 emits ObjectCreated again."""
        self._copy_object(key, key, StorageClass="STANDARD")  # a change S3 requires

    def download_file(self, key: str, path: str) -> None:
        self.s3.download_file(self.bucket, key, path)

    def copy(self, source_key: str, key: str) -> None:
        self._copy_object(source_key, key)

    def _copy_object(self, source_key: str, key: str, **extra) -> None:
        """One CopyObject request, whatever boto3 runs it: every stored object fits one
        (MAX_COPY_BYTES), and its tags are set from the copy's name in the same
        request: its kind when a rule expires that kind, else none (REPLACE without
        tags: the source's are not carried over). boto3's managed copy (s3transfer)
        behaves by version on large objects: recent ones re-tag a multipart copy with
        PutObjectVersionTagging, the one Lambda bundles drops the tags (and so the
        expiry rules)."""
        tagging = kind_tagging(kind_of(key), self.expiring_kinds)
        self.s3.copy_object(Bucket=self.bucket, Key=key,
                            CopySource={"Bucket": self.bucket, "Key": source_key},
                            MetadataDirective="COPY", TaggingDirective="REPLACE",
                            **({"Tagging": tagging} if tagging else {}), **extra)

    def presigned_url(self, key: str) -> str:
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.presign_expiry_s)

    def upload_url(self, key: str, content_type: str, size: int, expires_s: int) -> str:
        return self._presigner().generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type,
                                  "ContentLength": size}, ExpiresIn=expires_s)

    def input_url(self, key: str, expires_s: int) -> str:
        return self._presigner().generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s)

    def size_of(self, key: str) -> Optional[int]:
        from botocore.exceptions import ClientError
        try:
            return int(self.s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def read_start(self, key: str, length: int) -> bytes:
        body = self.s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}")
        return body["Body"].read(length)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def check(self) -> None:
        self.s3.head_bucket(Bucket=self.bucket)
