"""The encrypted backup container, without a database: round trip and every kind of damage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arrears.core.backup import BackupError, _media_relative_path
from arrears.core.backup_format import (
    CHUNK_SIZE,
    MAGIC,
    BackupFormatError,
    BackupWriter,
    WrongKeyError,
    read_pieces,
    sidecar_path,
    verify_backup,
)

KEY = bytes(range(32))
BIG = os.urandom(CHUNK_SIZE * 2 + 123)  # spans three data chunks


def write_backup(path: Path) -> str:
    with path.open("wb") as out:
        writer = BackupWriter(out, KEY)
        writer.add_member("database.dump", [BIG[:1000], BIG[1000:]])
        writer.add_member("media/a.csv", [b"a,b\n"])
        writer.add_member("media/empty.txt", [])
        writer.finish({"database": "arrears"})
    return writer.sha256


def test_a_round_trip_gives_back_every_member_and_the_manifest(tmp_path: Path) -> None:
    path = tmp_path / "b.enc"
    write_backup(path)

    manifest = verify_backup(path, KEY)
    with path.open("rb") as source:
        dump = b"".join(piece.payload for piece in read_pieces(source, KEY) if piece.kind == b"D")

    assert manifest["database"] == "arrears"
    assert [(m["name"], m["size"]) for m in manifest["members"]] == [
        ("database.dump", len(BIG)),
        ("media/a.csv", 4),
        ("media/empty.txt", 0),
    ]
    assert dump == BIG + b"a,b\n"
    assert BIG not in path.read_bytes()  # encrypted, not just framed


def test_each_backup_has_its_own_salt_so_the_same_data_encrypts_differently(tmp_path: Path) -> None:
    write_backup(tmp_path / "one.enc")
    write_backup(tmp_path / "two.enc")

    assert (tmp_path / "one.enc").read_bytes()[100:200] != (tmp_path / "two.enc").read_bytes()[100:200]


def test_a_wrong_key_is_told_apart_from_damage(tmp_path: Path) -> None:
    path = tmp_path / "b.enc"
    write_backup(path)

    with pytest.raises(WrongKeyError, match="the key does not open this backup"):
        verify_backup(path, bytes(32))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:-10], "truncated"),
        (lambda data: data[: len(data) // 2], "truncated|bad length|GCM tag"),
        (lambda data: data + b"x", "data after its manifest"),
        (lambda data: b"NOT-A-BACKUP" + data, "not an Arrears backup"),
        (lambda data: data.replace(b'"chunk_size"', b'"chunk_sizE"', 1), "GCM tag"),
    ],
    ids=["cut at the end", "cut in the middle", "appended", "not a backup", "header changed"],
)
def test_damage_is_refused(tmp_path: Path, damage, message: str) -> None:
    path = tmp_path / "b.enc"
    write_backup(path)
    path.write_bytes(damage(path.read_bytes()))

    with pytest.raises(BackupFormatError, match=message):
        verify_backup(path, KEY)


def test_a_dropped_chunk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.enc"
    with path.open("wb") as out:
        writer = BackupWriter(out, KEY)
        writer.add_member("media/a", [b"1"])
        writer.finish({})
    data = path.read_bytes()
    # Cut out the second chunk (the member's only data chunk): each chunk is a 4-byte length and
    # its ciphertext, after the magic, the header length and the header.
    header_end = len(MAGIC) + 4 + int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    first_end = header_end + 4 + int.from_bytes(data[header_end : header_end + 4], "big")
    second_end = first_end + 4 + int.from_bytes(data[first_end : first_end + 4], "big")
    path.write_bytes(data[:first_end] + data[second_end:])

    with pytest.raises(BackupFormatError, match="chunk 1 fails its GCM tag"):
        verify_backup(path, KEY)


def test_a_sidecar_that_does_not_match_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.enc"
    sha256 = write_backup(path)
    sidecar_path(path).write_text(f"{sha256}  b.enc\n")
    assert verify_backup(path, KEY)["database"] == "arrears"

    sidecar_path(path).write_text(f"{'0' * 64}  b.enc\n")

    with pytest.raises(BackupFormatError, match=r"does not match b\.enc\.sha256"):
        verify_backup(path, KEY)


@pytest.mark.parametrize("name", ["media/../etc/passwd", "media//abs", "media/", "other/file", "/media/x"])
def test_member_names_that_would_escape_the_media_folder_are_refused(name: str) -> None:
    with pytest.raises(BackupError, match="unsafe name"):
        _media_relative_path(name)


def test_a_normal_member_name_is_a_relative_path() -> None:
    assert str(_media_relative_path("media/imports/2026/a.csv")) == "imports/2026/a.csv"
