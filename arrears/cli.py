"""The ``arrears`` command: one entry point for the things an operator does.

Database control (``arrears db``) runs without Django so it works before anything is
migrated; everything else is a Django management command or uses the services directly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable

HELP = """\
arrears — 催收追偿管理系统 (collections and recovery platform)

usage: arrears COMMAND [ARGS...]      (arrears COMMAND --help for a command's options)

  db start|stop|status     the embedded PostgreSQL under var/pg (used when DATABASE_URL is unset):
                           start it, stop it cleanly, or show where it is and whether it runs
  migrate                  create or update the database tables
  import FILE --creditor CODE --kind accounts|schedule|payments
                           load a creditor file (CSV/XLSX, UTF-8 or GBK), with a progress bar and a
                           summary; rejected rows are listed and saved on the import batch
  eod [--date D] [--full] | --from D1 --to D2 | --date D --rebuild-from D0
                           the end-of-day batch: days past due, buckets, cases (default date:
                           yesterday); incremental, restartable; a date before the last run is
                           refused unless --rebuild-from is given
  creditor add CODE NAME   add a creditor (委托方), or rename it; safe to repeat
  product add CODE --creditor CODE [--name NAME] [--kind loan|card|policy]
                           add a product of a creditor on the default bucket ladder; safe to repeat
  user add USERNAME --role ROLE [--team T] [--agency A] [--password-file F]
                           add a user (roles: admin, supervisor, team_leader, collector, agency_user)
  token create NAME (--role admin|supervisor | --user USERNAME)
                           print a new API token (Authorization: Bearer <token>); shown once
  serve [--port N] [--no-worker]
                           serve the web app on 127.0.0.1:N (default 8000) and run a background worker
  worker                   run the background job worker (imports, end-of-day runs, the nightly
                           end-of-day at 00:30 Asia/Shanghai)
  demo [--port N] [--no-serve]
                           set up a demo book (users, creditor, imported files) and serve it
  backup [--out DIR] | --new-key
                           write an encrypted backup (database and uploaded files) into DIR (default
                           var/backups), key from ARREARS_BACKUP_KEY[_FILE]; --new-key prints a key
  restore FILE [--database NAME|URL] [--media-dir DIR]
                           check a backup, then restore it into an empty database and media folder
  retention run [--dry-run] [--today YYYY-MM-DD]
                           apply the retention policies (anonymise closed customers' personal data,
                           delete old import files and error rows; legal holds are skipped) and print
                           what was done; also run daily at 03:00 Asia/Shanghai by the worker
  keys status|rotate|add|generate
                           keys of the encrypted personal data (ID numbers, phones, e-mails,
                           addresses): values per key, re-encrypt all with the current key
                           (restartable), add a fresh current key to the key file, print a new key
  fake-sms [--port 8025] [--template CODE[=TEXT]]... [--receipts-url URL]
                           a local fake SMS provider speaking the provider's protocol (signed
                           requests, template codes, receipts pushed to URL) for trials and benchmarks
  letters print [--limit N]
                           print the sent letters waiting in the print queue as one batch: a PDF of
                           all of them and a CSV mailing list under var/letters/<batch>/
  manage ARGS...           any Django management command (e.g. arrears manage createsuperuser)
"""

DJANGO_COMMANDS = {
    "migrate": "migrate",
    "import": "importfile",
    "eod": "eod",
    "creditor": "creditor",
    "product": "product",
    "user": "user",
    "token": "token",
    "backup": "backup",
    "restore": "restore",
    "retention": "retention",
    "keys": "keys",
    "letters": "letters",
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(HELP)
        return 0
    command, rest = args[0], args[1:]
    handlers: dict[str, Callable[[list[str]], int]] = {
        "db": _db,
        "serve": _serve,
        "worker": _worker,
        "demo": _demo,
        "manage": _manage,
        "fake-sms": _fake_sms,
    }
    if command in handlers:
        return handlers[command](rest)
    if command in DJANGO_COMMANDS:
        return _manage([DJANGO_COMMANDS[command], *rest])
    print(f"arrears: unknown command {command!r}\n", file=sys.stderr)
    print(HELP, file=sys.stderr)
    return 2


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arrears.config.settings")
    import django

    django.setup()


def _manage(args: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arrears.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["arrears", *args])
    return 0


def _db(args: list[str]) -> int:
    from arrears.core.embedded_db import EmbeddedDatabaseError, EmbeddedServer

    if len(args) != 1 or args[0] not in {"start", "stop", "status"}:
        print("usage: arrears db start|stop|status", file=sys.stderr)
        return 2
    if os.environ.get("DATABASE_URL"):
        print("DATABASE_URL is set: Arrears uses that database, not the embedded one.")
        return 0 if args[0] == "status" else 1
    server = EmbeddedServer.default()
    action = args[0]
    try:
        if action == "start":
            url = server.ensure_running()
            print(f"PostgreSQL is running: {url}  (data in {server.pgdata})")
        elif action == "stop":
            print("PostgreSQL stopped." if server.stop() else "PostgreSQL was not running.")
        else:
            running = server.is_running()
            print(f"embedded PostgreSQL: {'running' if running else 'stopped'}")
            print(f"  data: {server.pgdata}\n  url:  {server.url()}\n  log:  {server.log_file}")
            return 0 if running else 3
    except EmbeddedDatabaseError as exc:
        print(f"arrears db {action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _option(args: list[str], name: str, default: str | None = None) -> str | None:
    if name in args:
        index = args.index(name)
        if index + 1 >= len(args):
            raise SystemExit(f"{name} needs a value")
        return args[index + 1]
    return default


def _exit_through_finally(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _serve(args: list[str]) -> int:
    if "-h" in args or "--help" in args:
        print(
            "usage: arrears serve [--port N] [--no-worker]\n\nServes the web app on 127.0.0.1:N (default 8000)"
            " with gunicorn, and a background worker unless --no-worker."
        )
        return 0
    # SIGTERM (`kill`, a service manager) and SIGHUP (the terminal closed) must end serving
    # through the `finally` below, which stops gunicorn and the worker: Python's default for
    # them exits at once and leaves both running, still holding the port.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _exit_through_finally)
    port = int(_option(args, "--port", os.environ.get("ARREARS_PORT", "8000")) or "8000")
    _django_setup()  # starts the embedded database if needed, before workers fork
    worker = (
        None if "--no-worker" in args else subprocess.Popen([sys.executable, "-m", "arrears.cli", "worker"])
    )
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "arrears.config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            os.environ.get("ARREARS_WEB_WORKERS", "2"),
            "--threads",
            "4",
            "--timeout",
            "120",
            "--access-logfile",
            "-",
        ]
    )
    print(f"Arrears is serving on http://127.0.0.1:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        return gunicorn.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (gunicorn, worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


def _fake_sms(args: list[str]) -> int:
    from arrears.comms.fake_sms import main as fake_sms_main

    return fake_sms_main(args)


def _worker(args: list[str]) -> int:
    return _manage(["procrastinate", "worker", *args])


def _demo(args: list[str]) -> int:
    if "-h" in args or "--help" in args:
        print(
            "usage: arrears demo [--port N] [--no-serve] [--accounts N]\n\nMigrates, loads a demo book"
            " through the real import, runs the end-of-day batch over the last year (buckets, cases),"
            " creates demo users, prints the logins, and serves."
        )
        return 0
    _django_setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from arrears import demo

    accounts = int(_option(args, "--accounts", "20000") or "20000")
    logins = demo.build_demo(accounts=accounts, out=sys.stdout)
    port = _option(args, "--port", "8000") or "8000"
    print(f"\nDemo logins (password for all: {demo.DEMO_PASSWORD}):")
    for username, role in logins:
        print(f"  {username:<12} {role}")
    if "--no-serve" in args:
        return 0
    # The demo admin has no authenticator app: the demo's own server (and only it, through its
    # environment) lets admins in without a second factor, unless told otherwise.
    os.environ.setdefault("ARREARS_REQUIRE_ADMIN_2FA", "0")
    if os.environ["ARREARS_REQUIRE_ADMIN_2FA"].lower() in {"0", "false", "no", "off"}:
        print("Demo server: two-factor login for admins is off (ARREARS_REQUIRE_ADMIN_2FA=0).")
    return _serve(["--port", port])


if __name__ == "__main__":
    sys.exit(main())
