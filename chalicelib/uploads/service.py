"""``POST /uploads``, and the image parameters that name an upload or carry a
data: URI, checked and turned into short-lived links Replicate can fetch.

A file is checked when it is used, not when it is announced: S3 itself holds
the PUT to the declared size and type (both are signed), and here the stored
object's size and first bytes must agree before any prediction is created.
"""
import secrets
from datetime import timedelta
from typing import Callable, Dict

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.authorization import reaches_upload
from chalicelib.catalog import CATALOG, image_parameters
from chalicelib.clock import Clock, iso
from chalicelib.errors import (UnsupportedUpload, UploadExpired, UploadIncomplete,
                               UploadNotFound, UploadTooLarge, ValidationFailed)
from chalicelib.keys import Caller
from chalicelib.storage import MediaStorage
from chalicelib.uploads.dynamodb import UploadStore
from chalicelib.uploads.model import (DATA_URI, IMAGE_TYPES, SNIFF_BYTES, UPLOAD_ID, UPLOAD_REF,
                                      Upload, parse_data_uri, sniff_image_type)
from chalicelib.validation import validate_model


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    contentType: str = Field(min_length=1, max_length=100,
                             description="image/png, image/jpeg or image/webp")
    size: int = Field(ge=1, description="The file's size in bytes")


class UploadView(BaseModel):
    """The upload: PUT the file to uploadUrl with exactly its Content-Type"""
    model_config = ConfigDict(extra="forbid")
    uploadId: str = Field(description="Name it as upload:<uploadId> in an image parameter")
    uploadUrl: str = Field(description="Presigned PUT (15 minutes); S3 takes only a file of "
                                       "the declared Content-Type and size")
    expiresAt: str = Field(description="When the upload is deleted and can no longer be used")


def new_upload_id() -> str:
    return "upl_" + secrets.token_urlsafe(16)


class Uploads:
    def __init__(self, store: UploadStore, storage: MediaStorage, clock: Clock, prefix: str,
                 lifetime: timedelta, max_bytes: int, upload_url_expiry_s: int = 900,
                 input_url_expiry_s: int = 3600, new_id: Callable[[], str] = new_upload_id):
        self.store = store
        self.storage = storage
        self.clock = clock
        self.prefix = prefix
        self.lifetime = lifetime
        self.max_bytes = max_bytes
        self.upload_url_expiry_s = upload_url_expiry_s
        self.input_url_expiry_s = input_url_expiry_s
        self.new_id = new_id

    def key(self, upload_id: str) -> str:
        return f"{self.prefix}{upload_id}"

    # ---- POST /uploads ---------------------------------------------------------------

    def create(self, caller: Caller, body: dict) -> Dict:
        request = validate_model(UploadRequest, body, prefix="")
        content_type = request.contentType.strip().lower()
        self._check_type(content_type)
        self._check_size(request.size)
        now = self.clock.now()
        upload = Upload(upload_id=self.new_id(), client_id=caller.client_id,
                        user_id=caller.user_id, content_type=content_type, size=request.size,
                        created_at=now, expires_at=now + self.lifetime)
        self.store.put(upload)
        url = self.storage.upload_url(self.key(upload.upload_id), content_type, request.size,
                                      self.upload_url_expiry_s)
        return UploadView(uploadId=upload.upload_id, uploadUrl=url,
                          expiresAt=iso(upload.expires_at)).model_dump()

    def _check_type(self, content_type: str) -> None:
        if content_type not in IMAGE_TYPES:
            raise UnsupportedUpload(f"contentType: {content_type[:100]!r} is not one of "
                                    f"{', '.join(IMAGE_TYPES)}.")

    def _check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise UploadTooLarge(f"The file is {size} bytes; the limit is {self.max_bytes}.")

    # ---- image parameters ------------------------------------------------------------

    def resolve_inputs(self, caller: Caller, body: dict) -> dict:
        """The submit body with each image parameter that names an upload (``upload:<id>``)
        or carries a ``data:`` URI replaced by a presigned link to the checked file. Other
        values, and bodies validation will refuse anyway, are left as they are."""
        entry = CATALOG.get(body.get("modelId")) if isinstance(body.get("modelId"), str) \
            else None
        parameters = body.get("parameters")
        if entry is None or not isinstance(parameters, dict):
            return body
        resolved = dict(parameters)
        for name in image_parameters(entry):
            value = parameters.get(name)
            if not isinstance(value, str):
                continue
            if value.startswith(UPLOAD_REF):
                resolved[name] = self.input_link(caller, value[len(UPLOAD_REF):], name)
            elif value[:len(DATA_URI)].lower() == DATA_URI:
                resolved[name] = self.inline_link(value, name)
        return {**body, "parameters": resolved} if resolved != parameters else body

    def owned(self, caller: Caller, upload_id: str) -> Upload:
        """The caller's upload; another principal's answers exactly as a missing one."""
        upload = self.store.get(upload_id) if UPLOAD_ID.fullmatch(upload_id) else None
        if upload is None or not reaches_upload(caller, upload):
            raise UploadNotFound(f"No upload with id '{upload_id[:64]}'.")
        if upload.expired(self.clock.now()):
            raise UploadExpired(f"Upload '{upload_id}' expired at {iso(upload.expires_at)}; "
                                f"upload the file again.")
        return upload

    def input_link(self, caller: Caller, upload_id: str, parameter: str) -> str:
        """A short-lived GET of the caller's upload, once its file passes the checks."""
        upload = self.owned(caller, upload_id)
        key = self.key(upload.upload_id)
        size = self.storage.size_of(key)
        if size is None:
            raise UploadIncomplete(f"parameters.{parameter}: upload '{upload_id}' has no file "
                                   f"yet; PUT it to its uploadUrl first.")
        if size > upload.size or size > self.max_bytes:
            raise UploadTooLarge(f"parameters.{parameter}: the stored file is {size} bytes; "
                                 f"{upload.size} were declared (the limit is {self.max_bytes}).")
        if size < upload.size:
            raise UnsupportedUpload(f"parameters.{parameter}: the stored file is {size} bytes "
                                    f"of the {upload.size} declared.")
        self._check_content(self.storage.read_start(key, SNIFF_BYTES), upload.content_type,
                            parameter)
        return self.storage.input_url(key, self.input_url_expiry_s)

    def inline_link(self, uri: str, parameter: str) -> str:
        """A data: URI's file, checked, stored under the uploads prefix (it expires with
        them), as a short-lived GET."""
        try:
            content_type, data = parse_data_uri(uri)
        except ValueError as e:
            raise ValidationFailed(f"parameters.{parameter}: not a data: URI: {e}",
                                   code="INVALID_VALUE") from None
        self._check_type(content_type)
        self._check_size(len(data))
        if not data:
            raise UnsupportedUpload(f"parameters.{parameter}: the data: URI is empty.")
        self._check_content(data[:SNIFF_BYTES], content_type, parameter)
        key = self.key(self.new_id())
        self.storage.put_bytes(key, data, content_type)
        return self.storage.input_url(key, self.input_url_expiry_s)

    @staticmethod
    def _check_content(head: bytes, declared: str, parameter: str) -> None:
        actual = sniff_image_type(head)
        if actual is None:
            raise UnsupportedUpload(f"parameters.{parameter}: the file is not a PNG, JPEG or "
                                    f"WebP image.")
        if actual != declared:
            raise UnsupportedUpload(f"parameters.{parameter}: the file is {actual}, not the "
                                    f"{declared} it was declared as.")
