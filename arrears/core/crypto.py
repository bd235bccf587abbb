"""Encryption of personal data at rest: a key ring of AES-256-GCM data keys and an HMAC key for
the blind index (docs/security.md, "Personal data at rest").

A stored value is text: ``v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>``, with a fresh 96-bit
random nonce per value and the column's name (``table.column``) as associated data, so a value
copied into another column does not decrypt. The first data key of the ring encrypts; every key
of the ring decrypts, which is what makes rotation possible (add a key in front, re-encrypt with
``arrears keys rotate``, then drop the old one).

Exact lookups go through a *blind index*: a keyed hash (HMAC-SHA256, truncated to 128 bits, hex)
of the normalised value, domain-separated per column. It is deterministic, so it can carry a
unique constraint and an index; without the index key it reveals nothing but equality.

Keys come from, in order:

- ``ARREARS_DATA_KEYS`` — ``k2:<base64>,k1:<base64>``, the first is current — and
  ``ARREARS_INDEX_KEY`` — ``<base64>``; each 32 random bytes;
- otherwise the key file ``ARREARS_DATA_KEY_FILE`` (default ``var/keys/data.keys``), lines of
  the same two variables. When neither variable nor file is configured the default file is
  created (mode 0600) with fresh keys, so a development machine and the tests need no set-up.
  Production supplies its keys and backs them up apart from the database backups.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
INDEX_HEX_CHARS = 32  # 128 bits of HMAC-SHA256
KEYS_VARIABLE = "ARREARS_DATA_KEYS"
INDEX_VARIABLE = "ARREARS_INDEX_KEY"
FILE_VARIABLE = "ARREARS_DATA_KEY_FILE"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class KeyRingError(Exception):
    """The key ring cannot be built: a variable or the key file is missing or malformed."""


class DecryptionError(Exception):
    """A stored value cannot be decrypted: unknown key id, wrong key, or altered data."""


def _decode_key(raw: str, what: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"{what} is not base64; make one with `arrears keys generate`") from None
    if len(key) != KEY_BYTES:
        raise KeyRingError(f"{what} must be {KEY_BYTES} bytes in base64, but holds {len(key)} bytes")
    return key


def parse_data_keys(text: str, source: str = KEYS_VARIABLE) -> list[tuple[str, bytes]]:
    """``k2:<base64>,k1:<base64>`` → [(key id, key)], current first."""
    keys: list[tuple[str, bytes]] = []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        key_id, sep, raw = part.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise KeyRingError(
                f"{source}: each entry is <key id>:<base64 key>, the id of letters, digits, - or _ "
                f"(at most 16); got {key_id[:20]!r}"
            )
        if any(existing == key_id for existing, _key in keys):
            raise KeyRingError(f"{source}: key id {key_id!r} appears twice")
        keys.append((key_id, _decode_key(raw, f"{source} key {key_id!r}")))
    if not keys:
        raise KeyRingError(f"{source} holds no key")
    return keys


def generate_key() -> str:
    """32 random bytes in base64: one data key or the index key."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


@dataclass
class KeyRing:
    """Data keys (the first encrypts) and the blind-index key. Picklable: the importer's worker
    processes receive the ring with their work instead of loading it themselves."""

    data_keys: list[tuple[str, bytes]]
    index_key: bytes
    source: str = "explicit"
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.data_keys:
            raise KeyRingError("a key ring needs at least one data key")
        self._by_id = dict(self.data_keys)
        # HMAC states with the key (and per column, the context) already absorbed: copying one
        # costs a fraction of hmac.new(), which matters at millions of values per import.
        self._index_states: dict[str, hmac.HMAC] = {}
        self._nonces = b""

    def __getstate__(self) -> dict[str, object]:
        return {"data_keys": self.data_keys, "index_key": self.index_key, "source": self.source}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @property
    def current_id(self) -> str:
        return self.data_keys[0][0]

    @property
    def key_ids(self) -> list[str]:
        return [key_id for key_id, _key in self.data_keys]

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            key = self._by_id.get(key_id)
            if key is None:
                raise DecryptionError(
                    f"the value was encrypted with key {key_id!r}, which is not in the key ring "
                    f"({self.source}: {', '.join(self.key_ids)}); add that key back"
                )
            cipher = self._ciphers[key_id] = AESGCM(key)
        return cipher

    def _nonce(self) -> bytes:
        # Random nonces, drawn from the OS in blocks (one system call per 256 values).
        if not self._nonces:
            self._nonces = os.urandom(NONCE_BYTES * 256)
        nonce, self._nonces = self._nonces[:NONCE_BYTES], self._nonces[NONCE_BYTES:]
        return nonce

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = self._nonce()
        sealed = self._cipher(self.current_id).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{VERSION}:{self.current_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, context: str) -> str:
        version, _, rest = stored.partition(":")
        key_id, _, body = rest.partition(":")
        if version != VERSION or not body:
            raise DecryptionError(f"{context}: not an encrypted value (expected {VERSION}:<key id>:…)")
        try:
            blob = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptionError(f"{context}: the encrypted value is not valid base64") from None
        cipher = self._cipher(key_id)
        try:
            plain = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise DecryptionError(
                f"{context}: authentication failed under key {key_id!r} — the key is not the one "
                "that encrypted the value, or the value was altered or moved from another column"
            ) from None
        return plain.decode()

    def key_id_of(self, stored: str) -> str:
        return stored.split(":", 2)[1] if stored.startswith(f"{VERSION}:") else ""

    def blind_index(self, value: str, *, context: str) -> str:
        state = self._index_states.get(context)
        if state is None:
            state = hmac.new(self.index_key, f"{context}\x00".encode(), hashlib.sha256)
            self._index_states[context] = state
        digest = state.copy()
        digest.update(normalise(value).encode())
        return digest.hexdigest()[:INDEX_HEX_CHARS]


def is_encrypted(stored: str) -> bool:
    return stored.startswith(f"{VERSION}:")


def normalise(value: str) -> str:
    """What the blind index hashes: NFKC, case-folded, inner whitespace collapsed. Phones and ID
    numbers are stored normalised by the importer already; this makes ``X``/``x`` in an ID and
    the case of an e-mail address not matter to a lookup."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


# --- loading the ring -------------------------------------------------------------------------


def default_key_file() -> Path:
    try:
        from django.conf import settings

        var_dir = Path(settings.VAR_DIR)
    except Exception:  # settings not configured (a script): the same default as the settings
        from arrears.core.embedded_db import project_home

        var_dir = Path(os.environ.get("ARREARS_VAR_DIR") or project_home() / "var")
    return var_dir / "keys" / "data.keys"


def configured_key_file() -> Path:
    """``ARREARS_DATA_KEY_FILE``, else the default."""
    configured = os.environ.get(FILE_VARIABLE, "").strip()
    return Path(configured) if configured else default_key_file()


def _read_key_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError as error:
        raise KeyRingError(f"cannot read the key file {path}: {error.strerror}") from None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise KeyRingError(f"{path}: lines are NAME=value, got {line[:30]!r}")
        values[name.strip()] = value.strip()
    return values


def key_file_text(data_keys: list[tuple[str, bytes]], index_key: bytes) -> str:
    keys = ",".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in data_keys)
    return (
        "# Arrears personal-data keys. Back this file up apart from the database backups:\n"
        "# without it the encrypted columns cannot be read. The first data key encrypts.\n"
        f"{KEYS_VARIABLE}={keys}\n"
        f"{INDEX_VARIABLE}={base64.b64encode(index_key).decode()}\n"
    )


def write_key_file(path: Path, text: str, *, replace: bool) -> bool:
    """Write with mode 0600, atomically. ``replace=False`` never overwrites (False if it existed)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        if replace:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)  # fails if another process created it first
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def load_keyring(environ: dict[str, str] | None = None) -> KeyRing:
    """The ring from the environment or the key file (creating the default file if nothing is set)."""
    env = os.environ if environ is None else environ
    keys_text = env.get(KEYS_VARIABLE, "").strip()
    index_text = env.get(INDEX_VARIABLE, "").strip()
    configured_file = env.get(FILE_VARIABLE, "").strip()
    file_values: dict[str, str] = {}
    source = "environment"
    if not keys_text or not index_text:
        path = Path(configured_file) if configured_file else default_key_file()
        if not path.exists():
            if configured_file or keys_text or index_text:
                raise KeyRingError(
                    f"{FILE_VARIABLE} points at {path}, which does not exist"
                    if configured_file
                    else f"set both {KEYS_VARIABLE} and {INDEX_VARIABLE}, or neither (to use {path})"
                )
            text = key_file_text([("k1", secrets.token_bytes(KEY_BYTES))], secrets.token_bytes(KEY_BYTES))
            write_key_file(path, text, replace=False)
        file_values = _read_key_file(path)
        source = f"key file {path}"
    keys_text = keys_text or file_values.get(KEYS_VARIABLE, "")
    index_text = index_text or file_values.get(INDEX_VARIABLE, "")
    if not keys_text:
        raise KeyRingError(f"{KEYS_VARIABLE} is not set ({source})")
    if not index_text:
        raise KeyRingError(f"{INDEX_VARIABLE} is not set ({source})")
    return KeyRing(
        data_keys=parse_data_keys(keys_text, KEYS_VARIABLE),
        index_key=_decode_key(index_text, INDEX_VARIABLE),
        source=source,
    )


_lock = threading.Lock()
_ring: KeyRing | None = None
_override: list[KeyRing] = []


def keyring() -> KeyRing:
    """The process's ring: loaded once, or the innermost ``use_keyring`` override."""
    global _ring
    if _override:
        return _override[-1]
    if _ring is None:
        with _lock:
            if _ring is None:
                _ring = load_keyring()
    return _ring


def keyring_reload() -> KeyRing:
    """Forget the loaded ring (after the key file changed) and load it again."""
    global _ring
    with _lock:
        _ring = None
    return keyring()


@contextlib.contextmanager
def use_keyring(ring: KeyRing) -> Iterator[KeyRing]:
    """Use ``ring`` in this process for the duration (tests, rotation drills)."""
    _override.append(ring)
    try:
        yield ring
    finally:
        _override.remove(ring)


def encrypt(plaintext: str, *, context: str) -> str:
    return keyring().encrypt(plaintext, context=context)


def decrypt(stored: str, *, context: str) -> str:
    return keyring().decrypt(stored, context=context)


def blind_index(value: str, *, context: str) -> str:
    return keyring().blind_index(value, context=context)
