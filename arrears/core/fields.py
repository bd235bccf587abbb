"""Model fields for personal data at rest (see ``arrears.core.crypto``).

``EncryptedTextField`` stores AES-GCM ciphertext and gives the ORM plaintext back: code that
reads ``customer.id_number`` or ``point.value`` is unchanged. Ciphertext is random, so the
column cannot be compared, sorted or searched in SQL; lookups other than ``isnull`` are refused
with a pointer to the companion ``BlindIndexField``, which holds the keyed hash of the same
value, is filled on every ``save()`` / ``create()`` / ``bulk_create()`` and carries the indexes
and unique constraints.

Not covered: ``QuerySet.update()`` and ``bulk_update()`` of an encrypted field do not refresh its
hash (nothing in the application does that; raw SQL writers such as the importer and the
retention run write both columns themselves).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError
from django.db import models

from arrears.core import crypto


def column_context(model: type[models.Model], field: Any) -> str:
    """The associated data of a column and the domain of its blind index: ``table.column``."""
    return f"{model._meta.db_table}.{field.column}"


class EncryptedTextField(models.CharField):
    """Text encrypted with the key ring's current data key; ``max_length`` limits the plaintext."""

    description = "Text encrypted at rest (AES-256-GCM)"

    @property
    def context(self) -> str:
        return column_context(self.model, self)

    def db_type(self, connection: Any) -> str:
        return "text"

    def cast_db_type(self, connection: Any) -> str:
        return "text"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if value is None:
            return None
        return crypto.encrypt(str(value), context=self.context)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return crypto.decrypt(value, context=self.context)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.model.__name__}.{self.name} is encrypted: look it up by its blind index "
                f"(e.g. {self.name}_hash=blind_index_of({self.model.__name__}, {self.name!r}, …))"
            )
        return super().get_lookup(lookup_name)


class BlindIndexField(models.CharField):
    """The keyed hash (HMAC-SHA256, 128 bits, hex) of the normalised value of ``source``."""

    description = "Blind index of an encrypted field"

    def __init__(self, *args: Any, source: str, **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", crypto.INDEX_HEX_CHARS)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if kwargs.get("max_length") == crypto.INDEX_HEX_CHARS:
            del kwargs["max_length"]
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        plaintext = getattr(model_instance, self.source)
        value = "" if plaintext is None else blind_index_of(type(model_instance), self.source, plaintext)
        setattr(model_instance, self.attname, value)
        return value


def blind_index_of(model: type[models.Model], field_name: str, value: str) -> str:
    """The blind index a lookup of ``value`` in ``model.field_name`` must compare with."""
    field = model._meta.get_field(field_name)
    return crypto.blind_index(value, context=column_context(model, field))


class BlindIndexedModel(models.Model):
    """Saving only an encrypted field (``update_fields``) also saves its blind index."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            names = set(update_fields)
            for field in self._meta.concrete_fields:
                if isinstance(field, BlindIndexField) and field.source in names:
                    names.add(field.name)
            kwargs["update_fields"] = names
        super().save(*args, **kwargs)
