from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arrears.core import crypto
from arrears.core.keys import key_file_add_key, keys_rotate, keys_status


class Command(BaseCommand):
    help = (
        "Keys of the encrypted personal data: status (values per key id), rotate (re-encrypt "
        "everything with the current key; restartable), add (a fresh current key in the key file), "
        "generate (print a fresh key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "rotate", "add", "generate"])
        parser.add_argument("--batch", type=int, default=2000, help="rows per transaction (rotate)")
        parser.add_argument("--key-id", help="id of the new key (add; default k<n+1>)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "generate":
            self.stdout.write(crypto.generate_key())
            return
        try:
            if action == "add":
                if crypto.KEYS_VARIABLE in os.environ:
                    raise CommandError(
                        f"{crypto.KEYS_VARIABLE} is set: the keys come from the environment; put "
                        f"a new <id>:<key> first in it (`arrears keys generate` makes a key)"
                    )
                key_id = key_file_add_key(key_id=options["key_id"])
                crypto.keyring_reload()
                self.stdout.write(f"added key {key_id} in front of {crypto.configured_key_file()}")
                self.stdout.write("now run `arrears keys rotate`; keep the old keys until it has finished")
                return
            ring = crypto.keyring()
            if action == "status":
                self._status(ring)
                return
            if options["batch"] < 1:
                raise CommandError("--batch must be at least 1")
            self.stdout.write(f"re-encrypting with key {ring.current_id} ({ring.source})")
            result = keys_rotate(batch_size=options["batch"])
        except (crypto.KeyRingError, crypto.DecryptionError) as error:
            raise CommandError(str(error)) from error
        for column, count in result.rotated.items():
            skipped = result.skipped[column]
            note = f" ({skipped} changed meanwhile, already current)" if skipped else ""
            self.stdout.write(f"  {column}: {count} re-encrypted{note}")
        self.stdout.write(f"done: {result.total} values now under key {result.current_key}")
        self._status(ring)

    def _status(self, ring: crypto.KeyRing) -> None:
        self.stdout.write(f"key ring: {', '.join(ring.key_ids)} (current {ring.current_id}; {ring.source})")
        for column, counts in keys_status().items():
            parts = [f"{key_id or 'not encrypted'}: {count}" for key_id, count in counts.items()]
            self.stdout.write(f"  {column}: {', '.join(parts) or 'empty'}")
            unknown = [key_id for key_id in counts if key_id and key_id not in ring.key_ids]
            if unknown:
                self.stdout.write(f"    keys not in the ring (cannot be read): {', '.join(unknown)}")
