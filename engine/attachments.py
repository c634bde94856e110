"""Checking and storing uploaded attachments."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

import filetype
from werkzeug.datastructures import FileStorage

from engine.service import AttachmentKind

log = logging.getLogger(__name__)

# Type names of specs, the extension the stored file gets, and the MIME type that the
# file's content must show (its name and the browser's declared type are ignored).
TYPES = {
    "jpeg": ("jpg", "image/jpeg"),
    "png": ("png", "image/png"),
    "pdf": ("pdf", "application/pdf"),
    "xlsx": (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
}
TYPE_LABELS = {"jpeg": "JPG", "png": "PNG", "pdf": "PDF", "xlsx": "Excel（xlsx）"}
UNNAMED = "未命名文件"
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


class AttachmentInvalid(ValueError):
    """An upload failed a check; the message says which file and what is allowed."""


@dataclass(frozen=True)
class StoredFile:
    kind: str
    original_name: str
    stored_name: str
    content_type: str
    size: int
    sha256: str


def display_name(name: str | None) -> str:
    """Keep the person's file name, Chinese included, without path and controls.

    Invisible format characters go too, because a right-to-left override (U+202E)
    before "gnp.exe" makes "invoice" + "gnp.exe" read as "invoiceexe.png". A name of
    dots alone names no file.
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("", base)
    base = "".join(char for char in base if unicodedata.category(char) != "Cf").strip()
    if not base.strip(". "):
        return UNNAMED
    return base[-100:]


def detect_type(head: bytes) -> str | None:
    """Return the spec type name that a file's first bytes show, or None."""
    kind = filetype.guess(head)
    if kind is None:
        return None
    for name, (_, mime) in TYPES.items():
        if kind.mime == mime:
            return name
    return None


def check_upload(spec: AttachmentKind, upload: FileStorage, existing: int) -> bytes:
    """Read an upload and check its type by content, its size and the count; return bytes."""
    name = display_name(upload.filename)
    limit = spec.max_size_kb * 1024
    content = upload.stream.read(limit + 1)
    if not content:
        raise AttachmentInvalid(f"{spec.label}：文件“{name}”是空文件")
    if len(content) > limit:
        raise AttachmentInvalid(
            f"{spec.label}：文件“{name}”超过{_size_label(spec.max_size_kb)}，请压缩后重新上传"
        )
    detected = detect_type(content[:8192])
    if detected not in spec.types:
        allowed = "、".join(TYPE_LABELS[item] for item in spec.types)
        raise AttachmentInvalid(
            f"{spec.label}：文件“{name}”不是允许的类型，只接受 {allowed} 文件"
        )
    if existing + 1 > spec.max_count:
        raise AttachmentInvalid(f"{spec.label}最多上传{spec.max_count}个文件")
    return content


def store(
    directory: Path, spec: AttachmentKind, upload: FileStorage, content: bytes
) -> StoredFile:
    """Write checked content under a generated name; the original name is only metadata."""
    detected = detect_type(content[:8192]) or "pdf"
    extension, mime = TYPES[detected]
    stored_name = f"{uuid.uuid4().hex}.{extension}"
    path = directory / stored_name[:2] / stored_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return StoredFile(
        kind=spec.kind,
        original_name=display_name(upload.filename),
        stored_name=stored_name,
        content_type=mime,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def stored_path(directory: Path, stored_name: str) -> Path:
    return directory / stored_name[:2] / stored_name


def _size_label(kilobytes: int) -> str:
    return f"{kilobytes // 1024}MB" if kilobytes % 1024 == 0 else f"{kilobytes}KB"
