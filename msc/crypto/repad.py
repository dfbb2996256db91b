"""Padding the values encrypted before padding existed.

Values written before ciphertext version 2 (msc.crypto.envelope) still decrypt, but their ciphertext is
exactly as long as the value: in a copy of the database they tell how long a name or a document number
is. `flask keys repad` reads each of them through its model's EncryptedField and writes it again, which
pads it; the value itself does not change, so the rows are updated beside the ORM's rules and counts.
Values under a destroyed data key (an erased person) cannot be read, so they are left as they are: they
open for nobody.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from msc.crypto.envelope import VERSION
from msc.crypto.fields import DataKeyDestroyed, Detached, EncryptedField, EncryptedRow
from msc.db import Base, session

BATCH = 500


@dataclass
class Repadded:
    """What a run did: values written again, by table and column, and those left (unreadable)."""

    by_column: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_column.values())


def encrypted_columns() -> Iterator[tuple[type, EncryptedField, str]]:
    """Every model with encrypted fields: (model, field, column name)."""
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__name__):
        model = mapper.class_
        if not issubclass(model, EncryptedRow):
            continue
        for klass in model.__mro__:
            for name, column in klass.__dict__.get("__encrypted_fields__", {}).items():
                yield model, klass.__dict__[name], column


def _unpadded(model: type, column: str) -> sa.ColumnElement[bool]:
    return sa.func.substr(getattr(model, column), 1, 1) == VERSION


def remaining() -> int:
    """Values still written without padding."""
    total = 0
    for model, _, column in encrypted_columns():
        total += session.scalar(sa.select(sa.func.count()).select_from(model).where(_unpadded(model, column))) or 0
    return total


def repad(batch: int = BATCH) -> Repadded:
    """Write every value encrypted without padding again, padded; commits after each batch."""
    done = Repadded()
    for model, encrypted, column in encrypted_columns():
        pk: sa.orm.InstrumentedAttribute[int] = model.id  # type: ignore[attr-defined]
        last = 0
        while True:
            rows: list[Any] = list(
                session.scalars(sa.select(model).where(_unpadded(model, column), pk > last).order_by(pk).limit(batch))
            )
            if not rows:
                break
            for row in rows:
                last = row.id
                try:
                    row.crypto_key().plaintext()
                except DataKeyDestroyed:
                    done.unreadable += 1
                    continue
                # the same value written again, beside the ORM: no model's rules or counts see a change
                # (a fund decision, which is never rewritten, keeps its words; only their padding is new)
                again = Detached(model.__tablename__, row.uid, row.crypto_key())  # type: ignore[attr-defined]
                encrypted.__set__(again, encrypted.read(row, getattr(row, column)))
                session.execute(sa.update(model).where(pk == row.id).values({column: getattr(again, column)}))
                key = f"{model.__tablename__}.{column}"  # type: ignore[attr-defined]
                done.by_column[key] = done.by_column.get(key, 0) + 1
            session.commit()
    return done
