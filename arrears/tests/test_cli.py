"""The `arrears` command: help text, and the management commands it wraps (on the test database)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from arrears.accounts.models import ApiToken, User
from arrears.accounts.selectors import user_for_token
from arrears.cli import main
from arrears.core.models import Event
from arrears.portfolio.models import Account, Creditor, Product

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "formats" / "samples"


def test_help_explains_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    text = capsys.readouterr().out
    for command in (
        "db start|stop|status",
        "migrate",
        "import FILE",
        "serve [--port N]",
        "worker",
        "demo",
        "creditor add CODE NAME",
        "product add CODE --creditor CODE",
        "token create NAME",
        "backup [--out DIR]",
        "restore FILE",
    ):
        assert command in text


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_db_status_reports_the_running_embedded_server() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "arrears.cli", "db", "status"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "embedded PostgreSQL: running" in result.stdout


def out(*args: str) -> str:
    buffer = io.StringIO()
    call_command(*args, stdout=buffer)
    return buffer.getvalue()


@pytest.mark.django_db
def test_creditor_and_product_add_are_idempotent() -> None:
    assert out("creditor", "add", "demobank", "示范银行") == "created: creditor DEMOBANK 示范银行\n"
    assert out("creditor", "add", "DEMOBANK", "示范银行") == "exists: creditor DEMOBANK 示范银行\n"
    assert out("product", "add", "cashloan", "--creditor", "DEMOBANK", "--name", "现金贷") == (
        "created: product DEMOBANK/CASHLOAN\n"
    )
    assert (
        out("product", "add", "CASHLOAN", "--creditor", "DEMOBANK") == "exists: product DEMOBANK/CASHLOAN\n"
    )

    assert Creditor.objects.count() == 1
    assert list(Product.objects.values_list("code", "name", "ladder__code")) == [
        ("CASHLOAN", "现金贷", "default")
    ]
    assert Event.objects.filter(kind__in=["creditor.created", "product.created"]).count() == 2


@pytest.mark.django_db
def test_product_of_an_unknown_creditor_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="unknown creditor 'NOPE'"):
        out("product", "add", "X", "--creditor", "NOPE")
    assert Product.objects.count() == 0


@pytest.mark.django_db
def test_token_create_prints_a_secret_that_authenticates_as_a_service_user() -> None:
    secret = out("token", "create", "loader", "--role", "supervisor").strip()

    user = user_for_token(secret)
    assert user is not None
    assert (user.username, user.role) == ("api:loader", "supervisor")
    assert ApiToken.objects.get().secret_hash != secret  # only the hash is stored


@pytest.mark.django_db
def test_token_for_a_scoped_role_must_name_the_user() -> None:
    with pytest.raises(CommandError, match="--user USERNAME"):
        out("token", "create", "x", "--role", "collector")
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_user_add_with_team(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("s3cret-Pass-word\n")

    assert out(
        "user", "add", "alice", "--role", "collector", "--team", "EAST", "--password-file", str(password)
    ) == ("created: user alice (collector)\n")

    alice = User.objects.get(username="alice")
    assert (alice.team.code if alice.team else None, alice.check_password("s3cret-Pass-word")) == (
        "EAST",
        True,
    )


@pytest.mark.django_db
def test_import_command_prints_a_summary_and_the_rejected_rows(tmp_path: Path) -> None:
    out("creditor", "add", "DEMOBANK", "示范银行")
    out("product", "add", "CASHLOAN", "--creditor", "DEMOBANK")
    out("product", "add", "CARD", "--creditor", "DEMOBANK")
    text = (SAMPLES / "accounts-sample.csv").read_text(encoding="utf-8").replace("2026-03-01", "2026-02-30")
    path = tmp_path / "accounts.csv"
    path.write_text(text, encoding="utf-8")

    printed = out("importfile", str(path), "--creditor", "DEMOBANK", "--kind", "accounts", "--quiet")

    assert "│ rows loaded       │         2 │" in printed
    assert "│ rows rejected     │         1 │" in printed
    assert "日期“2026-02-30”不存在" in printed
    assert Account.objects.count() == 2


@pytest.mark.django_db
def test_import_of_a_broken_file_fails_loudly(tmp_path: Path) -> None:
    out("creditor", "add", "DEMOBANK", "示范银行")
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(CommandError, match="nothing was loaded: 文件为空"):
        out("importfile", str(path), "--creditor", "DEMOBANK", "--kind", "accounts", "--quiet")


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_serve_stopped_by_a_signal_stops_gunicorn_too(stop: signal.Signals) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = subprocess.Popen(
        [sys.executable, "-m", "arrears.cli", "serve", "--port", str(port), "--no-worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert serve.stdout is not None
        assert "is serving on" in serve.stdout.readline()
        deadline = time.monotonic() + 30
        while True:  # gunicorn's master and its two web workers
            gunicorn = _children(serve.pid)
            workers = {w for g in gunicorn for w in _children(g)}
            if len(gunicorn) == 1 and len(workers) == 2:
                break
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)

        serve.send_signal(stop)  # the serve process only, not its group

        assert serve.wait(timeout=20) == 128 + stop
        assert [pid for pid in gunicorn | workers if _alive(pid)] == []
    finally:
        # Whatever is left of the process group (gunicorn outlives a serve that failed).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, signal.SIGKILL)
        serve.wait()
