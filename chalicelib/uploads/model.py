"""The upload record and what its file must be. Pure. (Who may use an upload is
``chalicelib.authorization.reaches_upload``.)"""
import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Tuple
from urllib.parse import unquote_to_bytes

# What an image input may be. A file is checked by its first bytes, not by its name
# or the type it was declared as.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
SNIFF_BYTES = 12
UPLOAD_REF = "upload:"
DATA_URI = "data:"
UPLOAD_ID = re.compile(r"upl_[A-Za-z0-9_-]{22}")


def sniff_image_type(head: bytes) -> Optional[str]:
    """The image type the file's magic bytes say (PNG, JPEG, WebP), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Upload:
    upload_id: str
    client_id: str                 # the client whose key created it
    user_id: Optional[str]         # the user that key is bound to; None for an unbound key
    content_type: str              # as declared, and fixed in the upload URL's signature
    size: int                      # bytes, as declared, and fixed in the signature too
    created_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def parse_data_uri(text: str) -> Tuple[str, bytes]:
    """``data:<type>[;param...][;base64],<data>`` (RFC 2397) -> (type, bytes);
    ValueError when it is not one."""
    if not text[:len(DATA_URI)].lower() == DATA_URI:
        raise ValueError("it does not start with data:")
    header, comma, payload = text[len(DATA_URI):].partition(",")
    if not comma:
        raise ValueError("it has no comma before its data")
    parts = [p.strip() for p in header.split(";")]
    content_type = parts[0].lower() or "text/plain"
    if parts[-1].lower() == "base64":
        try:
            return content_type, base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("its base64 data does not decode") from None
    return content_type, unquote_to_bytes(payload)
