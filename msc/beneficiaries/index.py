"""The blind index kept in step: a person's entries and name vocabulary, per generation and in batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.models import Beneficiary, BlindIndexEntry, NameVocabulary
from msc.crypto import blind, blind_indexer
from msc.crypto.blind import BlindIndexer
from msc.crypto.rotation import IndexGeneration, index_state, mark_rebuilt
from msc.db import insert_for, session, table_of, write_lock

_GENERATIONS_LOCK = 727_402  # advisory lock id: which generations writes keep, read by every change


@dataclass
class Clear:
    """What a person's entries are computed from, in clear: read (decrypted) once per person, or given by
    the registration that has it already."""

    id: int
    given_names: str
    family_names: str
    date_of_birth: dt.date | None
    document_number: str | None
    phone: str | None
    #: the person's centre's country (its numbering plan reads the phone)
    country: str | None

    @classmethod
    def of(cls, person: Beneficiary) -> Clear:
        return cls(
            person.id,
            person.given_names or "",
            person.family_names or "",
            person.date_of_birth,
            person.document_number,
            person.phone,
            person.centre.country if person.centre else None,
        )


def index_entries(person: Beneficiary | Clear, idx: BlindIndexer) -> set[tuple[int, int]]:
    """Every (kind, hash) entry for a person under one index key: name tokens three ways, pairs of
    name words, date of birth, document, phone (read by the numbering plan of the person's centre's
    country)."""
    p = person if isinstance(person, Clear) else Clear.of(person)
    entries = idx.name_entries(p.given_names, p.family_names)
    entries |= idx.lead_entries(p.given_names, p.family_names)
    entries |= idx.pair_entries(p.given_names, p.family_names)
    if p.date_of_birth:
        entries.add((blind.DOB, idx.hash(blind.DOB, p.date_of_birth.isoformat())))
    if p.document_number:
        entries.add((blind.DOCUMENT, idx.hash(blind.DOCUMENT, blind.normalise_document(p.document_number))))
    phone = blind.normalise_phone(p.phone or "", p.country)
    if phone:
        entries.add((blind.PHONE, idx.hash(blind.PHONE, phone)))
    return entries


def rebuild_index(batch: int = 500) -> int:
    """Recompute every living person's entries, committing per batch (resumable: run it again); at the
    end the generations say they hold this version's entries (searches then use all of them)."""
    done, last_id = 0, 0
    generations = index_state().writes
    while True:
        last, _, indexed = index_batch(None, last_id, batch)
        if last is None:
            mark_rebuilt(generations)
            session.commit()
            return done
        done, last_id = done + indexed, last
        session.commit()


def index_batch(generation: IndexGeneration | None, after_id: int, limit: int) -> tuple[int | None, int, int]:
    """(Re)write the entries of the next `limit` people after `after_id`: in one generation, or in
    every generation writes keep. Returns the last id seen (None at the end), how many people were
    seen and how many indexed (erased people have nothing to index)."""
    # locked, so that an edit or an erasure of one of them waits for this batch (or it for them)
    people = list(
        session.scalars(
            sa.select(Beneficiary)
            .where(Beneficiary.id > after_id)
            .order_by(Beneficiary.id)
            .limit(limit)
            .with_for_update(of=Beneficiary)
            .options(so.selectinload(Beneficiary.data_key), so.lazyload(Beneficiary.needs))
        )
    )
    if not people:
        return None, 0, 0
    # erased people have nothing to index; a record merged into another is found through the kept one
    living = [person for person in people if not person.is_erased and person.merged_into_id is None]
    generations = (generation,) if generation is not None else index_state().writes
    session.execute(
        sa.delete(BlindIndexEntry).where(
            BlindIndexEntry.generation.in_([gen.generation for gen in generations]),
            BlindIndexEntry.beneficiary_id.in_([person.id for person in people]),
        )
    )
    _insert_entries(living, generations)
    return people[-1].id, len(people), len(living)


def drop_generation_batch(generation: int, after_id: int, limit: int) -> int | None:
    """Delete one generation's entries of the next `limit` people after `after_id`; after the last
    person, whatever is left of the generation and its vocabulary. Returns the next cursor, or None
    when the generation is gone."""
    ids = list(
        session.scalars(
            sa.select(Beneficiary.id).where(Beneficiary.id > after_id).order_by(Beneficiary.id).limit(limit)
        )
    )
    if ids:
        session.execute(
            sa.delete(BlindIndexEntry).where(
                BlindIndexEntry.generation == generation, BlindIndexEntry.beneficiary_id.in_(ids)
            )
        )
        return ids[-1]
    session.execute(sa.delete(BlindIndexEntry).where(BlindIndexEntry.generation == generation))
    session.execute(sa.delete(NameVocabulary).where(NameVocabulary.generation == generation))
    return None


def take_generations_lock(conn: sa.Connection, *, exclusive: bool = False) -> None:
    """Hold, to the end of the transaction, the lock on which generations writes keep: every change to a
    person's entries holds it shared (changes do not wait for each other); the start of an index-key
    rotation holds it alone. Taken before the audit chain's writer lock, never after it. On SQLite the
    database's write lock, which a writing transaction holds from its start, does the same."""
    if conn.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.execute(sa.text(f"SELECT {function}(:k)"), {"k": _GENERATIONS_LOCK})
    else:
        write_lock(conn)


def reindex(person: Beneficiary) -> None:
    """Replace a person's blind-index entries in every generation writes keep, and make sure the
    vocabulary knows their words.

    The generations lock comes first (shared: an index-key rotation starts holding it alone): which
    generations to write is read after it, so a change either commits before a rotation starts (and
    the rotation's batches index it) or sees the new generation and writes it."""
    take_generations_lock(session.connection())
    # entries of a generation no longer written (one retiring) go too
    session.execute(sa.delete(BlindIndexEntry).where(BlindIndexEntry.beneficiary_id == person.id))
    if person.merged_into_id is None:  # a merged record is found through the kept one, never by its own data
        _insert_entries([person], index_state().writes)


def reindex_new(people: list[Clear]) -> None:
    """Write the entries of people just registered (they have none yet), from their fields in clear, under
    the lock `reindex` takes."""
    take_generations_lock(session.connection())
    _insert_entries(people, index_state().writes)


def _insert_entries(people: list[Beneficiary] | list[Clear], generations: Iterable[IndexGeneration]) -> None:
    """Insert these people's entries in these generations (the caller removed the old ones): one
    insert and one vocabulary insert per generation, whatever the number of people."""
    if not people:
        return
    clear = [p if isinstance(p, Clear) else Clear.of(p) for p in people]
    for gen in generations:
        idx = blind_indexer(gen.key_id)
        rows: list[dict[str, int]] = []
        for person in clear:
            rows.extend(
                {"generation": gen.generation, "beneficiary_id": person.id, "kind": kind, "hash": h}
                for kind, h in sorted(index_entries(person, idx))
            )
        # a name many people share is worked out once
        vocabulary = idx.vocabulary_entries(*{name for p in clear for name in (p.given_names, p.family_names)})
        if rows:  # on the table: the unit of work's bulk path costs more than the hashing
            session.execute(sa.insert(table_of(BlindIndexEntry)), rows)
        add_to_vocabulary(gen.generation, vocabulary)


def add_to_vocabulary(generation: int, pairs: set[tuple[int, int]]) -> None:
    """Insert vocabulary pairs of one generation, skipping those already known."""
    if not pairs:
        return
    session.execute(
        insert_for(session.get_bind())(NameVocabulary).on_conflict_do_nothing(),
        [{"generation": generation, "typo_hash": t, "token_hash": h} for t, h in sorted(pairs)],
    )
