"""The key ring: AES-GCM values, blind indexes, key sources (no database)."""

from __future__ import annotations

import base64
import pickle
import stat
from pathlib import Path

import pytest

from arrears.core import crypto
from arrears.core.crypto import DecryptionError, KeyRing, KeyRingError

K1 = bytes(range(32))
K2 = bytes(range(1, 33))
INDEX = bytes(range(2, 34))
ID = "portfolio_customer.id_number"
VALUE = "portfolio_contactpoint.value"


def ring(*keys: tuple[str, bytes], index: bytes = INDEX) -> KeyRing:
    return KeyRing(data_keys=list(keys), index_key=index)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_a_value_round_trips_and_never_shows_the_plaintext() -> None:
    keys = ring(("k1", K1))
    sealed = keys.encrypt("110105198803141237", context=ID)
    assert sealed.startswith("v1:k1:")
    assert "110105198803141237" not in sealed
    assert "1237" not in base64.b64decode(sealed.split(":")[2]).decode("latin-1")
    assert keys.decrypt(sealed, context=ID) == "110105198803141237"


def test_every_encryption_uses_a_fresh_nonce() -> None:
    keys = ring(("k1", K1))
    first, second = keys.encrypt("13812345678", context=VALUE), keys.encrypt("13812345678", context=VALUE)
    assert first != second
    assert base64.b64decode(first[6:])[:12] != base64.b64decode(second[6:])[:12]


def test_the_wrong_key_is_a_clear_error_not_garbage() -> None:
    sealed = ring(("k1", K1)).encrypt("13812345678", context=VALUE)
    with pytest.raises(DecryptionError, match="authentication failed under key 'k1'"):
        ring(("k1", K2)).decrypt(sealed, context=VALUE)


def test_an_unknown_key_id_names_the_missing_key() -> None:
    sealed = ring(("k1", K1)).encrypt("13812345678", context=VALUE)
    with pytest.raises(DecryptionError, match="key 'k1', which is not in the key ring"):
        ring(("k2", K2)).decrypt(sealed, context=VALUE)


def test_tampered_ciphertext_is_refused() -> None:
    keys = ring(("k1", K1))
    sealed = keys.encrypt("13812345678", context=VALUE)
    blob = bytearray(base64.b64decode(sealed.split(":")[2]))
    blob[14] ^= 0x01  # one bit of the ciphertext proper
    with pytest.raises(DecryptionError, match="altered"):
        keys.decrypt(f"v1:k1:{base64.b64encode(bytes(blob)).decode()}", context=VALUE)
    with pytest.raises(DecryptionError, match="not valid base64"):
        keys.decrypt("v1:k1:***", context=VALUE)
    with pytest.raises(DecryptionError, match="not an encrypted value"):
        keys.decrypt("13812345678", context=VALUE)


def test_a_value_moved_to_another_column_does_not_decrypt() -> None:
    keys = ring(("k1", K1))
    sealed = keys.encrypt("110105198803141237", context=ID)
    with pytest.raises(DecryptionError, match="moved from another column"):
        keys.decrypt(sealed, context=VALUE)


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old = ring(("k1", K1)).encrypt("a@example.com", context=VALUE)
    rotated = ring(("k2", K2), ("k1", K1))
    assert rotated.decrypt(old, context=VALUE) == "a@example.com"
    assert rotated.encrypt("a@example.com", context=VALUE).startswith("v1:k2:")
    assert rotated.key_id_of(old) == "k1"


def test_blind_index_is_deterministic_normalised_keyed_and_per_column() -> None:
    keys = ring(("k1", K1))
    index = keys.blind_index("11010519880314123X", context=ID)
    assert len(index) == crypto.INDEX_HEX_CHARS and int(index, 16) >= 0
    assert keys.blind_index(" 11010519880314123x ", context=ID) == index
    assert keys.blind_index("１１０１０５１９８８０３１４１２３Ｘ", context=ID) == index  # full-width
    assert keys.blind_index("11010519880314123X", context=VALUE) != index
    assert ring(("k1", K1), index=K2).blind_index("11010519880314123X", context=ID) != index
    # The data key plays no part: rotation leaves the indexes as they are.
    assert ring(("k9", K2)).blind_index("11010519880314123X", context=ID) == index


def test_the_ring_travels_to_worker_processes_by_pickle() -> None:
    keys = ring(("k2", K2), ("k1", K1))
    sealed = keys.encrypt("x", context=VALUE)
    copy = pickle.loads(pickle.dumps(keys))  # noqa: S301 - our own bytes
    assert copy.decrypt(sealed, context=VALUE) == "x" and copy.current_id == "k2"


def test_keys_from_the_environment() -> None:
    loaded = crypto.load_keyring(
        {crypto.KEYS_VARIABLE: f"k2:{b64(K2)}, k1:{b64(K1)}", crypto.INDEX_VARIABLE: b64(INDEX)}
    )
    assert (loaded.key_ids, loaded.index_key, loaded.source) == (["k2", "k1"], INDEX, "environment")


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("k1", "each entry is <key id>:<base64 key>"),
        (f"k 1:{b64(K1)}", "each entry is"),
        ("k1:not-base64!", "is not base64"),
        (f"k1:{b64(K1[:16])}", "must be 32 bytes in base64, but holds 16"),
        (f"k1:{b64(K1)},k1:{b64(K2)}", "appears twice"),
        (" , ", "holds no key"),
    ],
)
def test_malformed_keys_are_refused_with_the_reason(keys: str, message: str) -> None:
    with pytest.raises(KeyRingError, match=message):
        crypto.load_keyring({crypto.KEYS_VARIABLE: keys, crypto.INDEX_VARIABLE: b64(INDEX)})


def test_a_key_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "data.keys"
    path.write_text(crypto.key_file_text([("k3", K2), ("k1", K1)], INDEX))
    loaded = crypto.load_keyring({crypto.FILE_VARIABLE: str(path)})
    assert (loaded.key_ids, loaded.index_key) == (["k3", "k1"], INDEX)
    assert loaded.source == f"key file {path}"


def test_a_configured_key_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeyRingError, match="does not exist"):
        crypto.load_keyring({crypto.FILE_VARIABLE: str(tmp_path / "missing.keys")})
    assert not (tmp_path / "missing.keys").exists()


def test_half_configured_environment_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "default_key_file", lambda: tmp_path / "keys" / "data.keys")
    with pytest.raises(KeyRingError, match="set both"):
        crypto.load_keyring({crypto.KEYS_VARIABLE: f"k1:{b64(K1)}"})


def test_with_nothing_configured_the_default_file_is_created_private_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys" / "data.keys"
    monkeypatch.setattr(crypto, "default_key_file", lambda: path)
    first = crypto.load_keyring({})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert first.key_ids == ["k1"] and first.source == f"key file {path}"
    second = crypto.load_keyring({})
    assert (second.data_keys, second.index_key) == (first.data_keys, first.index_key)
    assert list(tmp_path.joinpath("keys").iterdir()) == [path]  # no temporary files left


def test_the_key_file_is_never_overwritten_by_a_racing_creator(tmp_path: Path) -> None:
    path = tmp_path / "data.keys"
    assert crypto.write_key_file(path, "A=1\n", replace=False) is True
    assert crypto.write_key_file(path, "B=2\n", replace=False) is False
    assert path.read_text() == "A=1\n"


def test_use_keyring_overrides_the_process_ring() -> None:
    keys = ring(("kx", K1))
    with crypto.use_keyring(keys):
        assert crypto.keyring() is keys
        assert crypto.encrypt("x", context=VALUE).startswith("v1:kx:")
    assert crypto.keyring() is not keys
