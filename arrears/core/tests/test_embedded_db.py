from __future__ import annotations

import socket
from pathlib import Path

import pytest

from arrears.core import embedded_db


def test_a_taken_default_port_gives_a_free_one_that_is_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARREARS_PG_PORT", raising=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(embedded_db, "DEFAULT_PORT", taken)

        chosen = embedded_db._choose_port(tmp_path / "pg")

    assert chosen != taken
    assert (tmp_path / "pg" / "port").read_text() == f"{chosen}\n"
    assert embedded_db._choose_port(tmp_path / "pg") == chosen


def test_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_PG_PORT", "60001")

    assert embedded_db._choose_port(tmp_path / "pg") == 60001
    assert not (tmp_path / "pg" / "port").exists()
