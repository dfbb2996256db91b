"""Merging two records of one person (registered twice before continuity between centres existed).

A centre manager keeps one record and merges the other into it. The absorbed record is not deleted: it
is marked merged into the kept one (`merged_into_id`), keeps its own fields, encrypted as before, and is
never searched, listed or counted again. Every row that pointed at it points at the kept record, and the
rows encrypted under its data key are encrypted again under the kept person's key. The kept record's own
fields do not change: the manager edits them afterwards if needed.

Blind index: the absorbed record's entries are removed, so its names, date of birth, document and phone
find nobody; the person is found by the kept record's data. They do not find the kept record either: a
search must never lead to a person by data their record does not hold (the confirm step decrypts the kept
record and would not recognise them); the manager adds what is missing to the kept record.

Every row that moved is written down by table and id (`BeneficiaryMerge.moved`, ids only), so that
`unmerge` puts exactly those rows back, until the kept record changes or another merge touches the pair.

Which tables point at a person is read from the schema (every foreign key to `beneficiaries.id`), so a
table added later moves too; the few that need more than a new id are named here, by table, without
importing the features that own them (they sit above this package).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.index import reindex
from msc.beneficiaries.models import (
    Beneficiary,
    BeneficiaryChange,
    BeneficiaryMerge,
    BlindIndexEntry,
    DuplicateCandidate,
    DuplicateDecision,
)
from msc.crypto import DataKey, Detached, link_tag
from msc.crypto.repad import encrypted_columns
from msc.db import Base, insert_for, rows_changed, session, utcnow
from msc.errors import RuleError, checked_text
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, in_scope, role_allows
from msc.signals import person_recounted

#: rows encrypted under the data key of the person they point at (their `crypto_key()`)
PERSON_KEYED = frozenset(
    {"consents", "referrals", "cases", "nfi_distributions", "placements", "break_glass", "correction_requests"}
)
#: rows encrypted under their case's person's key, found through the case
CASE_KEYED = ("case_assessments", "case_notes", "case_tasks")
#: fund rows encrypted under the key of the application's person: (table, column, parent table)
FUND_KEYED = (
    ("fund_application_lines", "application_id", "fund_applications"),
    ("fund_decisions", "application_id", "fund_applications"),
    ("fund_decision_lines", "decision_id", "fund_decisions"),
    ("fund_disbursements", "decision_line_id", "fund_decision_lines"),
    ("fund_audit_findings", "decision_id", "fund_decisions"),
)
#: the tag kind of a fund application's person (msc.fund.models.subject_tag)
FUND_SUBJECT = "fund-subject"
#: foreign keys to a person that do not simply move: handled below, or the merge's own
SPECIAL = frozenset(
    {
        ("beneficiaries", "merged_into_id"),
        ("beneficiary_merges", "kept_id"),
        ("beneficiary_merges", "absorbed_id"),
        ("blind_index_entries", "beneficiary_id"),
        ("specific_needs", "beneficiary_id"),
        ("duplicate_candidates", "first_id"),
        ("duplicate_candidates", "second_id"),
        ("duplicate_decisions", "first_id"),
        ("duplicate_decisions", "second_id"),
        ("erasures", "beneficiary_id"),
        # the months each record was served in stay with it: "people served" counted what the desks saw
        ("served_months", "beneficiary_id"),
    }
)


class MergeError(RuleError):
    """A rule of merging said no."""


@dataclass
class Moved:
    """What a merge moved: row ids by table, needs by code, fields encrypted again by table, the pairs of
    possible duplicates it removed. Ids and codes only."""

    rows: dict[str, list[int]] = field(default_factory=dict)
    needs: list[str] = field(default_factory=list)
    reencrypted: dict[str, list[int]] = field(default_factory=dict)
    applications: list[int] = field(default_factory=list)
    pairs: list[list[Any]] = field(default_factory=list)

    def dump(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def load(cls, text: str) -> Moved:
        return cls(**json.loads(text or "{}"))


def person_links() -> list[tuple[sa.Table, sa.Column[Any]]]:
    """Every (table, column) that points at a person and simply moves to the kept record."""
    links = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == Beneficiary.__tablename__ and (table.name, fk.parent.name) not in SPECIAL:
                links.append((table, fk.parent))
    return links


def _check(user: Actor, keep: Beneficiary, absorb: Beneficiary, confirm_different: bool) -> None:
    if not role_allows(user, Permission.MERGE):
        raise MergeError(_l("Only a centre manager can merge records."))
    if keep.id == absorb.id:
        raise MergeError(_l("A record cannot be merged with itself."))
    for person in (keep, absorb):
        if not in_scope(user, person.centre_id):
            raise MergeError(_l("Both records must be within your reach to merge them."))
        if person.is_erased:
            raise MergeError(_l("An erased record cannot be merged."))
        if person.merged_into_id is not None:
            raise MergeError(_l("Case %(case)s was already merged into another record.", case=person.case_number))
    if _case_of(keep.id) is not None and _case_of(absorb.id) is not None:
        raise MergeError(
            _l("Both records have a case, and a person can have only one: these two records cannot be merged.")
        )
    household = absorb.household
    if household is not None and any(m.id != absorb.id and m.merged_into_id is None for m in household.members):
        raise MergeError(
            _l(
                "Case %(case)s belongs to a household with other people: keep that record instead, or take it "
                "out of the household first.",
                case=absorb.case_number,
            )
        )
    if marked_different(keep, absorb) and not confirm_different:
        raise MergeError(
            _l("These records were marked as different people. Confirm that they are the same person to merge them."),
            field="confirm_different",
        )


def marked_different(a: Beneficiary, b: Beneficiary) -> bool:
    """Whether someone answered that these two records are different people."""
    first, second = sorted((a.id, b.id))
    return (
        session.scalar(
            sa.select(DuplicateDecision.id).where(
                DuplicateDecision.first_id == first, DuplicateDecision.second_id == second
            )
        )
        is not None
    )


def _case_of(person_id: int) -> int | None:
    cases = Base.metadata.tables["cases"]
    return session.scalar(sa.select(cases.c.id).where(cases.c.beneficiary_id == person_id))


def merge(
    user: Actor, keep: Beneficiary, absorb: Beneficiary, reason: str | None, *, confirm_different: bool = False
) -> BeneficiaryMerge:
    """Merge `absorb` into `keep`: every row of theirs moves to `keep`, `absorb` is marked merged. Refused in
    words when a rule says no, or when another merge of one of them got there first (the caller rolls back)."""
    text = checked_text(reason, field="reason", error=MergeError, limit=500)
    _check(user, keep, absorb, confirm_different)
    session.flush()
    # One wins: each record is claimed, in id order (two merges of one pair lock them in the same order),
    # only while it is merged into nothing; the loser finds the claim already made and is refused.
    for person_id in sorted((keep.id, absorb.id)):
        target = keep.id if person_id == absorb.id else None  # the kept record: locked and checked only
        claim = (
            sa.update(Beneficiary)
            .where(Beneficiary.id == person_id, Beneficiary.merged_into_id.is_(None))
            .values(merged_into_id=target)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(claim) != 1:
            raise MergeError(_l("One of these records was just merged by someone else. Open them again."))
    # The UPDATEs bypass the ORM: the session still reads both people as they were, so what they counted
    # for goes now, and comes back (the absorbed counting for nothing) once they are read again.
    _recount(keep, absorb, counted=False)
    old_key, new_key = absorb.data_key, keep.data_key
    moved = _move(keep.id, absorb.id, _tag(absorb), _tag(keep), old_key, new_key)
    session.execute(sa.delete(BlindIndexEntry).where(BlindIndexEntry.beneficiary_id == absorb.id))
    # its pairs of possible duplicates go (the pair merged, and pairs the kept record may be checked for)
    session.execute(
        sa.delete(DuplicateCandidate).where(
            sa.or_(DuplicateCandidate.first_id == absorb.id, DuplicateCandidate.second_id == absorb.id)
        )
    )
    session.expire_all()
    _recount(keep, absorb, counted=True)
    record = BeneficiaryMerge(kept_id=keep.id, absorbed_id=absorb.id, merged_by_id=user.id, moved=moved.dump())
    record.kept = keep
    record.reason = text
    change = BeneficiaryChange(beneficiary_id=keep.id, user_id=user.id, action="merged_from")
    session.add_all(
        [record, change, BeneficiaryChange(beneficiary_id=absorb.id, user_id=user.id, action="merged_into")]
    )
    session.flush()
    record.change_id = change.id
    audit.record("beneficiary.merge", object_type="beneficiary", object_id=keep.id, detail=f"absorbed:{absorb.id}")
    audit.record("beneficiary.merged", object_type="beneficiary", object_id=absorb.id, detail=f"kept:{keep.id}")
    return record


def _recount(*people: Beneficiary, counted: bool) -> None:
    for person in people:
        person_recounted.send(person, session=session, counted=counted)


def _tag(person: Beneficiary) -> str:
    return link_tag(FUND_SUBJECT, person.uid)


def _move(to_id: int, from_id: int, from_tag: str, to_tag: str, old_key: DataKey, new_key: DataKey) -> Moved:
    """Point every row of `from_id` at `to_id`, encrypting again what was under `old_key` (a merge, or in
    reverse an undo given exactly the rows, see `_move_back`)."""
    moved = Moved()
    for table, column in person_links():
        ids = list(session.scalars(sa.select(table.c.id).where(column == from_id).order_by(table.c.id)))
        if ids:
            moved.rows.setdefault(table.name, []).extend(ids)
    needs = Base.metadata.tables["specific_needs"]
    held = set(session.scalars(sa.select(needs.c.code).where(needs.c.beneficiary_id == to_id)))
    moved.needs = sorted(set(session.scalars(sa.select(needs.c.code).where(needs.c.beneficiary_id == from_id))) - held)
    pairs = sa.select(DuplicateCandidate).where(
        sa.or_(DuplicateCandidate.first_id == from_id, DuplicateCandidate.second_id == from_id)
    )
    moved.pairs = [[c.first_id, c.second_id, c.reasons, c.found_at.isoformat()] for c in session.scalars(pairs)]
    moved.applications = _applications(from_tag)
    _apply(moved, to_id, from_id, to_tag, old_key, new_key)
    return moved


def _applications(tag: str) -> list[int]:
    applications = Base.metadata.tables["fund_applications"]
    return list(session.scalars(sa.select(applications.c.id).where(applications.c.subject_tag == tag)))


def _apply(moved: Moved, to_id: int, from_id: int, to_tag: str, old_key: DataKey, new_key: DataKey) -> None:
    """Move exactly the rows `moved` names from `from_id` to `to_id` (and encrypt again what was under
    `old_key`); record in `moved.reencrypted` which rows were encrypted again."""
    links = {table.name: (table, column) for table, column in person_links()}
    for name, ids in moved.rows.items():
        table, column = links[name]
        session.execute(sa.update(table).where(table.c.id.in_(ids), column == from_id).values({column.name: to_id}))
    needs = Base.metadata.tables["specific_needs"]
    if moved.needs:
        session.execute(
            sa.update(needs)
            .where(needs.c.beneficiary_id == from_id, needs.c.code.in_(moved.needs))
            .values(beneficiary_id=to_id)
        )
    # the rows under the person's key: those that moved, their cases' rows, their fund applications' rows
    keyed = {name: ids for name, ids in moved.rows.items() if name in PERSON_KEYED}
    case_ids = moved.rows.get("cases", [])
    for name in CASE_KEYED:
        keyed[name] = _ids_where(name, "case_id", case_ids)
    keyed["fund_applications"] = moved.applications
    for name, parent_column, parent in FUND_KEYED:
        keyed[name] = _ids_where(name, parent_column, keyed[parent])
    # a table on the way (a decision's lines) may hold nothing encrypted itself
    moved.reencrypted = {name: ids for name, ids in keyed.items() if ids and _fields_of(name)}
    for name, ids in moved.reencrypted.items():
        _reencrypt(name, ids, old_key, new_key)
    _relink(moved.applications, to_id, to_tag)


def _ids_where(table_name: str, column: str, values: list[int]) -> list[int]:
    if not values:
        return []
    table = Base.metadata.tables[table_name]
    return list(session.scalars(sa.select(table.c.id).where(table.c[column].in_(values)).order_by(table.c.id)))


def _fields_of(table_name: str) -> list[tuple[Any, str]]:
    return [
        (f, column) for model, f, column in encrypted_columns() if getattr(model, "__tablename__", "") == table_name
    ]


def _reencrypt(table_name: str, ids: list[int], old_key: DataKey, new_key: DataKey) -> None:
    """Decrypt each field of these rows under `old_key` and encrypt it again under `new_key` (same table,
    column and row: the associated data does not change). Values under a destroyed key cannot be read and
    are left as they are."""
    table = Base.metadata.tables[table_name]
    fields = _fields_of(table_name)
    columns = [table.c[column] for _, column in fields]
    for row in session.execute(sa.select(table.c.id, table.c.uid, *columns).where(table.c.id.in_(ids))):
        values = {}
        for encrypted, column in fields:
            blob = row._mapping[column]
            if blob is None:
                continue
            value = encrypted.read(Detached(table_name, row.uid, old_key), blob)
            target = Detached(table_name, row.uid, new_key)
            encrypted.__set__(target, value)
            values[column] = getattr(target, column)
        if values:
            session.execute(sa.update(table).where(table.c.id == row.id).values(values))


def _relink(application_ids: list[int], person_id: int, tag: str) -> None:
    """Point fund applications' encrypted links (and tags) at another person, their case unchanged."""
    if not application_ids:
        return
    table = Base.metadata.tables["fund_applications"]
    model = _model("fund_applications")
    link = model.subject
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model):  # an application read in this session remembers whose it was
            obj.__dict__.pop("_msc_linked", None)
    for row in session.execute(
        sa.select(table.c.id, table.c.uid, table.c.subject_ct).where(table.c.id.in_(application_ids))
    ):
        holder = Detached(table.name, row.uid, None)  # type: ignore[arg-type]  # a link needs no data key
        holder.subject_ct = row.subject_ct  # type: ignore[attr-defined]
        subject = link.__get__(holder)
        link.__set__(holder, {**subject, "beneficiary": person_id})
        session.execute(
            sa.update(table).where(table.c.id == row.id).values(subject_ct=holder.subject_ct, subject_tag=tag)  # type: ignore[attr-defined]
        )


def _model(table_name: str) -> Any:
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table_name:
            return mapper.class_
    raise LookupError(table_name)


# ---- undo -----------------------------------------------------------------------------------


def latest_merge_into(person: Beneficiary) -> BeneficiaryMerge | None:
    """The last merge into this record that was not undone."""
    return session.scalar(
        sa.select(BeneficiaryMerge)
        .where(BeneficiaryMerge.kept_id == person.id, BeneficiaryMerge.undone_at.is_(None))
        .order_by(BeneficiaryMerge.id.desc())
        .limit(1)
    )


def undo_refusal(record: BeneficiaryMerge) -> str | None:
    """Why a merge can no longer be undone (translated), or None while it can."""
    if record.undone_at is not None:
        return str(_l("This merge was already undone."))
    pair = (record.kept_id, record.absorbed_id)
    later = session.scalar(
        sa.select(BeneficiaryMerge.id)
        .where(
            BeneficiaryMerge.id > record.id,
            sa.or_(BeneficiaryMerge.kept_id.in_(pair), BeneficiaryMerge.absorbed_id.in_(pair)),
        )
        .limit(1)
    )
    if later is not None:
        return str(_l("Another merge touched these records since: this one can no longer be undone."))
    changed = session.scalar(
        sa.select(BeneficiaryChange.id)
        .where(BeneficiaryChange.beneficiary_id == record.kept_id, BeneficiaryChange.id > (record.change_id or 0))
        .limit(1)
    )
    if changed is not None:
        return str(_l("The kept record changed after the merge: the merge can no longer be undone."))
    return None


def unmerge(user: Actor, record: BeneficiaryMerge) -> None:
    """Undo a merge: exactly the rows it moved go back to the absorbed record, which is found and counted
    again. Refused in words once the kept record changed or another merge touched the pair."""
    if not role_allows(user, Permission.MERGE):
        raise MergeError(_l("Only a centre manager can merge records."))
    keep, absorb = record.kept, record.absorbed
    if not (in_scope(user, keep.centre_id) and in_scope(user, absorb.centre_id)):
        raise MergeError(_l("Both records must be within your reach to merge them."))
    refusal = undo_refusal(record)
    if refusal is not None:
        raise MergeError(refusal)
    session.flush()
    claim = (
        sa.update(BeneficiaryMerge)
        .where(BeneficiaryMerge.id == record.id, BeneficiaryMerge.undone_at.is_(None))
        .values(undone_at=utcnow(), undone_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    release = (
        sa.update(Beneficiary)
        .where(Beneficiary.id == absorb.id, Beneficiary.merged_into_id == keep.id)
        .values(merged_into_id=None)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(claim) != 1 or rows_changed(release) != 1:
        raise MergeError(_l("This merge was already undone."))
    _recount(keep, absorb, counted=False)
    moved = Moved.load(record.moved)
    _apply(moved, absorb.id, keep.id, _tag(absorb), keep.data_key, absorb.data_key)
    if moved.pairs:
        pairs = [
            {"first_id": a, "second_id": b, "reasons": r, "found_at": dt.datetime.fromisoformat(at)}
            for a, b, r, at in moved.pairs
        ]
        session.execute(insert_for(session.connection())(DuplicateCandidate).on_conflict_do_nothing(), pairs)
    session.expire_all()
    _recount(keep, absorb, counted=True)
    reindex(absorb)
    session.add_all(
        [
            BeneficiaryChange(beneficiary_id=keep.id, user_id=user.id, action="merge_undone"),
            BeneficiaryChange(beneficiary_id=absorb.id, user_id=user.id, action="merge_undone"),
        ]
    )
    audit.record("beneficiary.unmerge", object_type="beneficiary", object_id=keep.id, detail=f"absorbed:{absorb.id}")
    audit.record("beneficiary.unmerged", object_type="beneficiary", object_id=absorb.id, detail=f"kept:{keep.id}")
