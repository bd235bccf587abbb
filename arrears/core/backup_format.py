"""The encrypted backup file: a stream of AES-256-GCM chunks, written and read without ever
holding a whole member (a multi-gigabyte database dump) in memory.

Layout::

    preamble   MAGIC, header length (4 bytes, big-endian), header (JSON)
    chunk*     ciphertext length (4 bytes, big-endian), ciphertext with its 16-byte GCM tag

The header names the format and carries a random salt. Each file is encrypted with its own key,
derived from the operator's key and the salt by HKDF-SHA256, so the chunk nonce can simply be the
chunk's index (with a flag for the last chunk) without ever repeating a (key, nonce) pair across
backups made with the same operator key. The whole preamble is the associated data of every chunk:
changing the header breaks every tag. The index in the nonce refuses reordered or dropped chunks,
and the last-chunk flag refuses a truncated file.

Each chunk's plaintext is one record: a type byte and a payload. ``B`` begins a member (payload:
its name), ``D`` carries up to ``CHUNK_SIZE`` bytes of it, ``E`` ends it, and ``M``, the last
chunk, is the manifest (JSON) with every member's size and SHA-256. The manifest comes last
because those are only known once a member has been streamed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"ARREARS-BACKUP\n"
FORMAT_VERSION = 1
KEY_BYTES = 32
CHUNK_SIZE = 1024 * 1024
_TAG_BYTES = 16
_LENGTH = struct.Struct(">I")
# A header is a few hundred bytes; the bound stops a damaged length from allocating gigabytes.
_MAX_HEADER_BYTES = 64 * 1024
_MAX_CIPHERTEXT_BYTES = 1 + CHUNK_SIZE + _TAG_BYTES

BEGIN, DATA, END, MANIFEST = b"B", b"D", b"E", b"M"


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class BackupFormatError(Exception):
    """The file is not a backup, is damaged or was changed, or the key does not open it."""


class WrongKeyError(BackupFormatError):
    pass


@dataclass(frozen=True)
class MemberDigest:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Piece:
    """One record of a backup as read back: ``kind`` is BEGIN, DATA, END or MANIFEST."""

    kind: bytes
    payload: bytes


def _derive(key: bytes, salt: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=purpose).derive(key)


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a backup key is {KEY_BYTES} bytes, not {len(key)}")


class BackupWriter:
    """Writes members into ``out`` as they stream in; ``finish`` writes the manifest.

    ``sha256`` is the digest of every byte written, i.e. of the whole file, for the sidecar
    checksum an operator can check after copying the file elsewhere, without the key.
    """

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        _check_key(key)
        salt = os.urandom(32)
        header = json.dumps(
            {
                "format": FORMAT_VERSION,
                "cipher": "AES-256-GCM",
                "kdf": "HKDF-SHA256",
                "salt": base64.b64encode(salt).decode(),
                # Lets a reader tell "wrong key" from "damaged file" before decrypting anything.
                "key_check": base64.b64encode(_derive(key, salt, b"arrears-backup key check")).decode(),
                "chunk_size": CHUNK_SIZE,
            }
        ).encode()
        self._out = out
        self._aead = AESGCM(_derive(key, salt, b"arrears-backup chunks"))
        self._preamble = MAGIC + _LENGTH.pack(len(header)) + header
        self._index = 0
        self._hash = hashlib.sha256()
        self._members: list[MemberDigest] = []
        self._write(self._preamble)

    @property
    def members(self) -> list[MemberDigest]:
        return list(self._members)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def add_member(self, name: str, blocks: Iterable[bytes]) -> MemberDigest:
        self._record(BEGIN, name.encode())
        digest, size = hashlib.sha256(), 0
        for block in blocks:
            for start in range(0, len(block), CHUNK_SIZE):
                part = block[start : start + CHUNK_SIZE]
                digest.update(part)
                size += len(part)
                self._record(DATA, part)
        self._record(END, b"")
        member = MemberDigest(name=name, size=size, sha256=digest.hexdigest())
        self._members.append(member)
        return member

    def finish(self, manifest: dict[str, Any]) -> None:
        """Write the manifest, with the members added, as the last chunk."""
        complete = {**manifest, "members": [member.__dict__ for member in self._members]}
        self._record(MANIFEST, json.dumps(complete, ensure_ascii=False, indent=2).encode(), last=True)

    def _record(self, kind: bytes, payload: bytes, last: bool = False) -> None:
        ciphertext = self._aead.encrypt(_nonce(self._index, last), kind + payload, self._preamble)
        self._index += 1
        self._write(_LENGTH.pack(len(ciphertext)) + ciphertext)

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._hash.update(data)


def read_pieces(source: Readable, key: bytes) -> Iterator[Piece]:
    """Decrypt ``source`` record by record, refusing it at the first bad tag or structure.

    The caller must consume the iterator to the end: only the final MANIFEST piece proves the
    file was not truncated.
    """
    _check_key(key)
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupFormatError("this is not an Arrears backup file")
    header_bytes, header = _read_header(source)
    salt = base64.b64decode(header["salt"])
    if base64.b64decode(header["key_check"]) != _derive(key, salt, b"arrears-backup key check"):
        raise WrongKeyError("the key does not open this backup (it was made with another key)")
    aead = AESGCM(_derive(key, salt, b"arrears-backup chunks"))
    preamble = MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes
    index = 0
    while True:
        length_bytes = source.read(_LENGTH.size)
        if len(length_bytes) < _LENGTH.size:
            raise BackupFormatError("the backup file is truncated (its manifest is missing)")
        (length,) = _LENGTH.unpack(length_bytes)
        if not _TAG_BYTES < length <= _MAX_CIPHERTEXT_BYTES:
            raise BackupFormatError(f"the backup file is damaged (chunk {index} has a bad length)")
        ciphertext = source.read(length)
        if len(ciphertext) < length:
            raise BackupFormatError("the backup file is truncated (its manifest is missing)")
        plaintext = _open_chunk(aead, index, ciphertext, preamble)
        kind, payload = plaintext[:1], plaintext[1:]
        if kind == MANIFEST:
            if source.read(1):
                raise BackupFormatError("the backup file has data after its manifest")
            yield Piece(kind, payload)
            return
        yield Piece(kind, payload)
        index += 1


def _read_header(source: Readable) -> tuple[bytes, dict[str, Any]]:
    length_bytes = source.read(_LENGTH.size)
    (length,) = _LENGTH.unpack(length_bytes) if len(length_bytes) == _LENGTH.size else (0,)
    if not 0 < length <= _MAX_HEADER_BYTES:
        raise BackupFormatError("the backup file's header is damaged")
    header_bytes = source.read(length)
    try:
        header = json.loads(header_bytes)
    except ValueError:
        raise BackupFormatError("the backup file's header is damaged") from None
    if header.get("format") != FORMAT_VERSION or header.get("cipher") != "AES-256-GCM":
        raise BackupFormatError(
            f"this backup is format {header.get('format')!r}; this version of Arrears reads format {FORMAT_VERSION}"
        )
    return header_bytes, header


def _open_chunk(aead: AESGCM, index: int, ciphertext: bytes, preamble: bytes) -> bytes:
    # The last-chunk flag is part of the nonce; only the manifest chunk is the last one, so a
    # chunk that opens neither way was changed (the key itself was checked against the header).
    for last in (False, True):
        try:
            plaintext = aead.decrypt(_nonce(index, last), ciphertext, preamble)
        except InvalidTag:
            continue
        if last != (plaintext[:1] == MANIFEST):
            break
        return plaintext
    raise BackupFormatError(f"the backup file was changed or damaged (chunk {index} fails its GCM tag)")


def verify_backup(path: Path, key: bytes) -> dict[str, Any]:
    """Read the whole file once, check every tag and every member against the manifest, and
    return the manifest. Nothing is written. Also checks ``<file>.sha256`` when it is there."""
    members: list[MemberDigest] = []
    whole = hashlib.sha256()
    with path.open("rb") as raw:
        source = _HashingReader(raw, whole)
        name: str | None = None
        digest, size = hashlib.sha256(), 0
        manifest: dict[str, Any] | None = None
        for piece in read_pieces(source, key):
            if piece.kind == BEGIN and name is None:
                name, digest, size = piece.payload.decode(), hashlib.sha256(), 0
            elif piece.kind == DATA and name is not None:
                digest.update(piece.payload)
                size += len(piece.payload)
            elif piece.kind == END and name is not None:
                members.append(MemberDigest(name=name, size=size, sha256=digest.hexdigest()))
                name = None
            elif piece.kind == MANIFEST and name is None:
                manifest = json.loads(piece.payload)
            else:
                raise BackupFormatError("the backup file is damaged (its records are out of order)")
    assert manifest is not None
    listed = [MemberDigest(**member) for member in manifest.get("members", [])]
    if listed != members:
        raise BackupFormatError("the backup's members do not match the sizes and SHA-256 in its manifest")
    _check_sidecar(path, whole.hexdigest())
    return manifest


def _check_sidecar(path: Path, sha256: str) -> None:
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        return
    # The sidecar is in `sha256sum` format: "<hex digest>  <file name>".
    expected = sidecar.read_text().split()
    if not expected or expected[0] != sha256:
        raise BackupFormatError(f"the backup file's SHA-256 does not match {sidecar.name}")


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


class _HashingReader:
    """A read-only file wrapper that hashes what is read, so one pass checks the whole file."""

    def __init__(self, raw: BinaryIO, digest: Any) -> None:
        self._raw = raw
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._digest.update(data)
        return data
