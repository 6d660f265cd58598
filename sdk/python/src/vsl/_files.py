"""Local files as inputs: what counts as a file, its bytes and its type (pure helpers)."""
from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import IO, Any, Optional, Tuple, Union

# A file given as a path, its bytes, or an open binary file.
FileInput = Union["os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


def is_file_input(value: Any) -> bool:
    """True for what the client uploads before submitting (a str is a URL, not a path)."""
    return isinstance(value, (os.PathLike, bytes, bytearray, memoryview)) or (
        hasattr(value, "read") and not isinstance(value, (str, dict)))


def read(file: FileInput) -> Tuple[bytes, Optional[str]]:
    """The file's bytes and, when it has one, its name."""
    if isinstance(file, os.PathLike):
        path = Path(file)
        return path.read_bytes(), path.name
    if isinstance(file, (bytes, bytearray, memoryview)):
        return bytes(file), None
    data = file.read()
    if isinstance(data, str):
        raise TypeError("open the file in binary mode ('rb'): its text cannot be uploaded")
    name = getattr(file, "name", None)
    return bytes(data), os.path.basename(name) if isinstance(name, str) else None


def content_type_of(data: bytes, name: Optional[str] = None) -> str:
    """The image type the first bytes say (as the service checks them), else the one the
    name suggests; the service refuses anything but PNG, JPEG and WebP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    guessed = mimetypes.guess_type(name)[0] if name else None
    return guessed or "application/octet-stream"
