"""The dashboards' counts, kept correct by the writes themselves.

Every flush that adds, changes or removes a person, a household, a referral, a hand-over line or a stay
at a centre turns the row's state before and after into *facts* — (topic, centre, month, sex, age band,
nationality, k1, k2, k3) with a count and units — and keeps the difference with the session; the
transaction adds them to `report_counts` when it commits (a rolled-back savepoint — a hand-over refused
for stock — drops its own). The two writes that bypass the ORM (a referral's status, a voided
hand-over) announce themselves on `msc.signals`, and the counts move here (the writers know nothing of
reports). Nothing listens until `register_listeners` runs (create_app does): importing this module
changes no session.

The same fact functions rebuild every count from the base tables (`flask --app msc reports check`
compares, `rebuild` replaces), so the running counts can always be proven right.

"People served" counts each person once a month at every centre that served them (registered them, received
their record, handed them items, placed them in a shelter, referred them): the writes leave a mark per person,
centre and month in `served_months`, and a mark that is new adds one to the count. The encrypted facts of a
person — sensitive needs, an unaccompanied or separated child — are decrypted here, by the writer that
already holds the person's key: the counts hold no person, and no table holds those facts in clear.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc import clock
from msc.beneficiaries.models import Beneficiary, Household, SpecificNeed
from msc.beneficiaries.vocab import PROTECTED_NEEDS
from msc.centres.models import Centre
from msc.centres.stays import Stay
from msc.crypto import DataKey, Detached, detached_key
from msc.db import insert_for, table_of, utcnow
from msc.nfi.models import Distribution, DistributionLine
from msc.partners.models import PartnerService
from msc.referrals.models import Referral
from msc.reports.models import KEY, CarriedCount, ReportCount, ServedMonth
from msc.security import audit
from msc.shelters.models import Placement, Shelter
from msc.signals import hand_over_voided, person_recounted, referral_status_moved

Key = tuple  # (topic, centre_id, month, sex, age_band, nationality, k1, k2, k3)
Deltas = dict  # Key -> [n, amount]


def local_month(country: str | None, when: dt.datetime | None) -> str:
    """YYYY-MM of a UTC moment in the centre's country's calendar."""
    return clock.day_of(when or utcnow(), country).strftime("%Y-%m")


def entry_point_key(place_id: int | None, other: bool) -> str:
    """What the counts group people by: the listed entry point's id, "other", or "" (not recorded)."""
    if place_id is not None:
        return str(place_id)
    return "other" if other else ""


@dataclass
class Lookups:
    """Centre countries and service sectors, read once per flush or rebuild."""

    countries: Mapping[int, str]
    sectors: Mapping[int, str]

    @classmethod
    def load(cls, conn) -> Lookups:
        return cls(
            dict(conn.execute(sa.select(Centre.id, Centre.country)).all()),
            dict(conn.execute(sa.select(PartnerService.id, PartnerService.sector)).all()),
        )


# ---- facts from plain values ---------------------------------------------------------------


def person_facts(v: Any, needs: Iterable[str], uasc: bool, look: Lookups) -> list[tuple[Key, int, int]]:
    """A person counts once under "people" (marked when a possible unaccompanied or separated child) and
    once under "need" for each specific need, at the centre that registered them (wherever their record
    moves afterwards). A record merged into another counts no more: the person is counted through the kept
    record."""
    if getattr(v, "merged_into_id", None) is not None:
        return []
    centre_id = v.registered_centre_id
    month = local_month(look.countries.get(centre_id), v.registered_at)
    dims = (centre_id, month, v.sex or "", v.age_band or "unknown", v.nationality or "")
    entry = entry_point_key(v.entry_point_id, v.entry_point_other)
    facts = [(("people", *dims, entry, "uasc" if uasc else "", ""), 1, 0)]
    facts += [(("need", *dims, entry, code, ""), 1, 0) for code in sorted(set(needs))]
    return facts


def household_facts(v: Any, look: Lookups) -> list[tuple[Key, int, int]]:
    month = local_month(look.countries.get(v.centre_id), v.created_at)
    return [(("household", v.centre_id, month, "", "", "", "", "", ""), 1, 0)]


def stay_facts(v: Any) -> list[tuple[Key, int, int]]:
    """A stay counts as an arrival at its centre in the month it began (k1: registered there, or the record
    moved there), and as a departure in the month it ended (the record moved on)."""
    facts = [(("arrival", v.centre_id, v.arrived_on.strftime("%Y-%m"), "", "", "", v.how, "", ""), 1, 0)]
    if v.left_on is not None:
        facts.append((("departure", v.centre_id, v.left_on.strftime("%Y-%m"), "", "", "", "", "", ""), 1, 0))
    return facts


def served_fact(centre_id: int, month: str) -> Key:
    return ("served", centre_id, month, "", "", "", "", "", "")


#: the first element of a pending visit (VISIT, centre_id, month, beneficiary_id): not a count, a mark to leave
VISIT = "visit"


def _visit(sess: so.Session, obj, new: bool) -> tuple | None:
    """The visit a row just flushed records — a stay begun, a hand-over, a shelter place, a referral sent:
    a centre served a person in a month — or None."""
    if new and isinstance(obj, Stay):
        return (VISIT, obj.centre_id, obj.arrived_on.strftime("%Y-%m"), obj.beneficiary_id)
    if new and isinstance(obj, Distribution):
        return (VISIT, obj.centre_id, obj.day.strftime("%Y-%m"), obj.beneficiary_id)
    if new and isinstance(obj, Placement):
        centre_id = sess.connection().scalar(sa.select(Shelter.centre_id).where(Shelter.id == obj.shelter_id))
        return (VISIT, centre_id, obj.check_in_on.strftime("%Y-%m"), obj.beneficiary_id)
    if isinstance(obj, Referral) and obj.sent_at is not None and (new or _Before(obj).sent_at is None):
        country = _lookups(sess).countries.get(obj.centre_id)
        return (VISIT, obj.centre_id, local_month(country, obj.sent_at), obj.beneficiary_id)
    return None


def referral_timing(v: Any) -> str:
    """in_time or late once answered; empty while waiting."""
    if v.answered_at is None:
        return ""
    return "in_time" if v.deadline_at is None or _utc(v.answered_at) <= _utc(v.deadline_at) else "late"


def _utc(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def referral_facts(v: Any, look: Lookups) -> list[tuple[Key, int, int]]:
    """A referral counts from the month it was sent (drafts are not counted)."""
    if v.sent_at is None:
        return []
    month = local_month(look.countries.get(v.centre_id), v.sent_at)
    sector = look.sectors.get(v.service_id, "")
    return [(("referral", v.centre_id, month, "", "", "", sector, v.status, referral_timing(v)), 1, 0)]


def line_facts(v: Any) -> list[tuple[Key, int, int]]:
    """A hand-over line counts (with its units) unless voided."""
    if v.voided:
        return []
    return [
        (("nfi", v.centre_id, v.month, v.sex, v.age_band, v.nationality, str(v.item_id), "", ""), 1, int(v.quantity))
    ]


# ---- facts from ORM rows, before and after a change ------------------------------------------


class _Before:
    """The row as it was loaded: each changed attribute's previous value."""

    def __init__(self, obj):
        self._obj = obj
        self._state = sa.inspect(obj)

    def __getattr__(self, name: str):
        history = self._state.attrs[name].history
        if history.deleted:
            return history.deleted[0]
        if history.added:  # set where there was nothing
            return None
        return getattr(self._obj, name)


_PERSON = (
    "registered_centre_id",
    "registered_at",
    "sex",
    "age_band",
    "nationality",
    "entry_point_id",
    "entry_point_other",
    "possible_uasc_ct",
    "sensitive_needs_ct",
    "needs",
    "merged_into_id",
)
_TRACKED = {
    Beneficiary: _PERSON,
    Household: ("centre_id", "created_at"),
    Referral: ("centre_id", "sent_at", "status", "deadline_at", "answered_at", "service_id"),
    DistributionLine: ("centre_id", "month", "sex", "age_band", "nationality", "item_id", "quantity", "voided"),
    Stay: ("centre_id", "arrived_on", "left_on", "how"),
}


def _needs_of(person: Beneficiary, before: bool) -> list[str]:
    if before:
        history = sa.inspect(person).attrs.needs.load_history()
        plain = [n.code for n in (*history.unchanged, *history.deleted)]
        blob = _Before(person).sensitive_needs_ct
    else:
        plain = [n.code for n in person.needs]
        blob = person.sensitive_needs_ct
    protected = Beneficiary.protected_needs.read(person, blob) or []
    return plain + [code for code in protected if code in PROTECTED_NEEDS]


def _uasc_of(person: Beneficiary, before: bool) -> bool:
    blob = _Before(person).possible_uasc_ct if before else person.possible_uasc_ct
    return bool(Beneficiary.possible_uasc.read(person, blob))


def facts_of(obj, look: Lookups, before: bool = False) -> list[tuple[Key, int, int]]:
    """The facts a row contributes, now or as it was loaded."""
    v = _Before(obj) if before else obj
    if isinstance(obj, Beneficiary):
        return person_facts(v, _needs_of(obj, before), _uasc_of(obj, before), look)
    if isinstance(obj, Household):
        return household_facts(v, look)
    if isinstance(obj, Referral):
        return referral_facts(v, look)
    if isinstance(obj, Stay):
        return stay_facts(v)
    return line_facts(v)


def _changed(obj) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _TRACKED[type(obj)])


def _add(deltas: Deltas, facts, sign: int) -> None:
    for key, n, amount in facts:
        cell = deltas.setdefault(key, [0, 0])
        cell[0] += sign * n
        cell[1] += sign * amount


def apply(conn, deltas: Deltas, model=ReportCount) -> None:
    """Add the differences to the counts: under the audit chain's writer lock (which every writing request
    takes at its end anyway) and in key order, so that two writers never wait on each other in turn. One
    statement for up to _APPLY_ROWS of them (its rows are written in the order given; each key once)."""
    deltas = {k: v for k, v in deltas.items() if v[0] or v[1]}
    if not deltas:
        return
    audit.take_chain_lock(conn)
    insert, table = insert_for(conn), model.__table__
    rows = [{**dict(zip(KEY, key)), "n": n, "amount": amount} for key, (n, amount) in sorted(deltas.items())]
    for start in range(0, len(rows), _APPLY_ROWS):
        stmt = insert(table).values(rows[start : start + _APPLY_ROWS])
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=list(KEY),
                set_={"n": table.c.n + stmt.excluded.n, "amount": table.c.amount + stmt.excluded.amount},
            )
        )


#: count rows one statement adds to (well within the bound parameters SQLite and PostgreSQL take)
_APPLY_ROWS = 500


# The differences wait in the session, each with the transaction (or savepoint) it was flushed in, and
# are written when the transaction commits: a rolled-back savepoint drops its own, and the shared count
# rows are locked only at the very end, all together, in order.
_PENDING = "msc.report_deltas"


def _defer(sess: so.Session, deltas: Deltas) -> None:
    if deltas:
        sess.info.setdefault(_PENDING, []).append((sess.get_nested_transaction() or sess.get_transaction(), deltas))


def write_pending(sess: so.Session) -> None:
    """Flush the session and write the differences waiting in it (at commit, and before reading counts)."""
    sess.flush()
    pending = sess.info.pop(_PENDING, [])
    merged: Deltas = {}
    for _transaction, deltas in pending:
        for key, (n, amount) in deltas.items():
            _add(merged, [(key, n, amount)], +1)
    conn = sess.connection()
    visits = sorted(key for key in merged if key[0] == VISIT)
    if visits:
        # under the same lock as the counts: a mark and the count it adds to are written together
        audit.take_chain_lock(conn)
        for key in visits:
            del merged[key]
        for centre_id, month, _person_id in leave_marks(conn, [key[1:] for key in visits]):
            _add(merged, [(served_fact(centre_id, month), 1, 0)], +1)
    apply(conn, merged)


def leave_marks(conn, marks: list[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    """Record that centres served people in months, (centre, month, person) each; says which were the first
    time that month (the row comes back only when it was written: psycopg gives no row count for ON CONFLICT
    DO NOTHING)."""
    if not marks:
        return []
    values = [{"centre_id": c, "month": m, "beneficiary_id": p} for c, m, p in marks]
    # one statement compiled once, the rows sent in batches by the driver's many-rows insert
    stmt = insert_for(conn)(table_of(ServedMonth)).on_conflict_do_nothing()
    returned = stmt.returning(ServedMonth.centre_id, ServedMonth.month, ServedMonth.beneficiary_id)
    return [tuple(row) for row in conn.execute(returned, values)]


def _within(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _after_rollback(sess: so.Session, previous_transaction) -> None:
    pending = sess.info.get(_PENDING)
    if pending:
        sess.info[_PENDING] = [(t, d) for t, d in pending if not _within(t, previous_transaction)]


def _after_transaction_end(sess: so.Session, transaction) -> None:
    if transaction.parent is None:  # committed (written already), rolled back or closed: nothing waits
        sess.info.pop(_PENDING, None)
        sess.info.pop(_LOOKUPS, None)


#: session.info key: the Lookups read in this transaction (a write of several flushes reads them once)
_LOOKUPS = "msc.cube_lookups"


def _lookups(sess: so.Session) -> Lookups:
    look = sess.info.get(_LOOKUPS)
    if look is None:
        look = sess.info[_LOOKUPS] = Lookups.load(sess.connection())
    return look


def _after_flush(sess: so.Session, _context) -> None:
    deltas: Deltas = {}
    look = None
    added, removed = sess.new, sess.deleted  # (each a new set, built from the whole session: read once)
    changed = (*added, *sess.dirty, *removed)
    if any(isinstance(obj, (Centre, PartnerService)) for obj in changed):
        sess.info.pop(_LOOKUPS, None)  # a centre or a service written in this transaction: read them again
    for obj in changed:
        new, gone = obj in added, obj in removed
        if not gone and (visit := _visit(sess, obj, new)) is not None:
            _add(deltas, [(visit, 1, 0)], +1)
        if type(obj) not in _TRACKED:
            continue
        if not new and not gone and not _changed(obj):
            continue
        look = look or _lookups(sess)
        if not new:
            _add(deltas, facts_of(obj, look, before=True), -1)
        if not gone:
            _add(deltas, facts_of(obj, look), +1)
    _defer(sess, deltas)


def change(sess: so.Session, before: list, after: list) -> None:
    """For writes that bypass the ORM: move a row's counts from its facts before to its facts after."""
    deltas: Deltas = {}
    _add(deltas, before, -1)
    _add(deltas, after, +1)
    _defer(sess, deltas)


def _referral_status_moved(referral: Referral, *, session: so.Session, from_status: str, **_kw) -> None:
    # The compare-and-set changed the status alone: the row as it was is the row with its old status.
    was = SimpleNamespace(**{name: getattr(referral, name) for name in _TRACKED[Referral]})
    was.status = from_status
    look = Lookups.load(session.connection())
    change(session, referral_facts(was, look), referral_facts(referral, look))


def _hand_over_voided(distribution: Distribution, *, session: so.Session, **_kw) -> None:
    # Sent before the lines are marked voided: they still show what they counted.
    change(session, current_facts(session, *distribution.lines), [])


def _person_recounted(person: Beneficiary, *, session: so.Session, counted: bool, **_kw) -> None:
    # The person as the session reads them now: before the UPDATEs their facts go, after them they come back.
    facts = current_facts(session, person)
    change(session, [] if counted else facts, facts if counted else [])


def _keep_previous_value(target, value, oldvalue, initiator):
    """Asked for with active_history: a change to an attribute that was not loaded would otherwise forget
    the value it replaces."""


def register_listeners() -> None:
    """Start keeping the counts as rows are written: session and attribute events, the writers' signals.

    SQLAlchemy's session-class events are process-wide and would run twice if listened for twice, so this
    registers once per process whichever app asks first (create_app asks for every app)."""
    if sa.event.contains(so.Session, "after_flush", _after_flush):
        return
    for model, names in _TRACKED.items():
        for name in names:
            sa.event.listen(getattr(model, name), "set", _keep_previous_value, active_history=True)
    sa.event.listen(so.Session, "before_commit", write_pending)
    sa.event.listen(so.Session, "after_soft_rollback", _after_rollback)
    sa.event.listen(so.Session, "after_transaction_end", _after_transaction_end)
    # blinker keeps one connection per receiver, however often it is connected
    referral_status_moved.connect(_referral_status_moved)
    hand_over_voided.connect(_hand_over_voided)
    person_recounted.connect(_person_recounted)
    sa.event.listen(so.Session, "after_flush", _after_flush)  # last: it marks the whole set as registered


def carry_sensitive(sess: so.Session, person: Beneficiary) -> None:
    """Before a person's key is destroyed: keep what only their key could tell — their encrypted needs, and
    whether they were a possible unaccompanied or separated child — among the carried counts, which a
    recount adds to what the records show (the running counts themselves do not change)."""
    look = Lookups.load(sess.connection())
    protected = person.protected_needs or []
    uasc = bool(person.possible_uasc)
    facts = [f for f in person_facts(person, protected, uasc, look) if f[0][0] == "need"]
    deltas: Deltas = {}
    _add(deltas, facts, +1)
    if uasc:  # a recount will find them unmarked: move them back under the mark
        _add(deltas, person_facts(person, (), True, look)[:1], +1)
        _add(deltas, person_facts(person, (), False, look)[:1], -1)
    apply(sess.connection(), deltas, CarriedCount)


def current_facts(sess: so.Session, *objs) -> list:
    """The facts rows contribute now (see `change`)."""
    look = Lookups.load(sess.connection())
    return [fact for obj in objs for fact in facts_of(obj, look)]


# ---- proving the counts --------------------------------------------------------------------


def recompute(sess: so.Session, batch: int = 5000) -> Deltas:
    """Every count, from the base tables (the encrypted needs and marks decrypted person by person, each
    under its own key, without loading the records)."""
    conn = sess.connection()
    look = Lookups.load(conn)
    counts: Deltas = {}
    needs: dict[int, list[str]] = defaultdict(list)
    for person_id, code in conn.execute(sa.select(SpecificNeed.beneficiary_id, SpecificNeed.code)):
        needs[person_id].append(code)
    b, k = Beneficiary.__table__.c, DataKey.__table__.c
    people = sa.select(
        b.id,
        b.uid,
        b.registered_centre_id,
        b.registered_at,
        b.sex,
        b.age_band,
        b.nationality,
        b.entry_point_id,
        b.entry_point_other,
        b.possible_uasc_ct,
        b.sensitive_needs_ct,
        b.merged_into_id,
        k.uid.label("key_uid"),
        k.kek_id,
        k.wrapped,
    ).join_from(Beneficiary.__table__, DataKey.__table__, k.id == b.data_key_id)
    for p in conn.execute(people.execution_options(yield_per=batch)):
        person = Detached(Beneficiary.__tablename__, p.uid, detached_key(p.key_uid, p.kek_id, p.wrapped))
        protected = Beneficiary.protected_needs.read(person, p.sensitive_needs_ct) or []
        uasc = bool(Beneficiary.possible_uasc.read(person, p.possible_uasc_ct))
        _add(counts, person_facts(p, [*needs.get(p.id, ()), *protected], uasc, look), +1)
    h = Household.__table__.c
    for home in conn.execute(sa.select(h.centre_id, h.created_at).execution_options(yield_per=batch)):
        _add(counts, household_facts(home, look), +1)
    r = Referral.__table__.c
    for sent in conn.execute(
        sa.select(r.centre_id, r.sent_at, r.status, r.deadline_at, r.answered_at, r.service_id)
        .where(r.sent_at.is_not(None))
        .execution_options(yield_per=batch)
    ):
        _add(counts, referral_facts(sent, look), +1)
    line = DistributionLine.__table__.c
    grouped = (
        sa.select(
            line.centre_id,
            line.month,
            line.sex,
            line.age_band,
            line.nationality,
            line.item_id,
            sa.func.count(),
            sa.func.sum(line.quantity),
        )
        .where(line.voided.is_(False))
        .group_by(line.centre_id, line.month, line.sex, line.age_band, line.nationality, line.item_id)
    )
    for centre_id, month, sex, band, nationality, item_id, n, units in conn.execute(grouped):
        cell = counts.setdefault(("nfi", centre_id, month, sex, band, nationality, str(item_id), "", ""), [0, 0])
        cell[0] += int(n)
        cell[1] += int(units)
    st = Stay.__table__.c
    by_day = sa.select(st.centre_id, st.arrived_on, st.left_on, st.how, sa.func.count()).group_by(
        st.centre_id, st.arrived_on, st.left_on, st.how
    )
    for centre_id, arrived_on, left_on, how, n in conn.execute(by_day):
        stay = SimpleNamespace(centre_id=centre_id, arrived_on=arrived_on, left_on=left_on, how=how)
        _add(counts, [(key, int(n), 0) for key, _n, _amount in stay_facts(stay)], +1)
    served = ServedMonth.__table__.c
    for centre_id, month, n in conn.execute(
        sa.select(served.centre_id, served.month, sa.func.count()).group_by(served.centre_id, served.month)
    ):
        _add(counts, [(served_fact(centre_id, month), int(n), 0)], +1)
    carried = CarriedCount.__table__.c
    for row in conn.execute(sa.select(*(carried[k] for k in KEY), carried.n, carried.amount)):
        _add(counts, [(tuple(row[: len(KEY)]), int(row.n), int(row.amount))], +1)
    return {k: v for k, v in counts.items() if v[0] or v[1]}


def visits_from_records(conn, batch: int = 5000) -> Iterable[tuple[int, str, int]]:
    """Every (centre, month, person) the records show a centre served: stays begun, hand-overs, shelter
    places, referrals sent."""
    st, d, p, r = Stay.__table__.c, Distribution.__table__.c, Placement.__table__.c, Referral.__table__.c
    shelter = Shelter.__table__.c
    dated = (
        sa.select(st.centre_id, st.arrived_on, st.beneficiary_id),
        sa.select(d.centre_id, d.day, d.beneficiary_id),
        sa.select(shelter.centre_id, p.check_in_on, p.beneficiary_id).join_from(
            Placement.__table__, Shelter.__table__, shelter.id == p.shelter_id
        ),
    )
    for stmt in dated:
        for centre_id, day, person_id in conn.execute(stmt.execution_options(yield_per=batch)):
            yield centre_id, day.strftime("%Y-%m"), person_id
    look = Lookups.load(conn)
    sent = sa.select(r.centre_id, r.sent_at, r.beneficiary_id).where(r.sent_at.is_not(None))
    for centre_id, sent_at, person_id in conn.execute(sent.execution_options(yield_per=batch)):
        yield centre_id, local_month(look.countries.get(centre_id), sent_at), person_id


def rebuild_marks(conn, batch: int = 5000) -> None:
    """Leave again every mark of a centre serving a person in a month, from the records."""
    conn.execute(sa.delete(ServedMonth))
    stmt = insert_for(conn)(ServedMonth).on_conflict_do_nothing()
    visits = visits_from_records(conn, batch)
    while chunk := set(itertools.islice(visits, batch)):
        conn.execute(stmt, [dict(centre_id=c, month=m, beneficiary_id=b) for c, m, b in sorted(chunk)])


def stored(sess: so.Session) -> Deltas:
    """The running counts as they are (rows that fell to zero left out)."""
    write_pending(sess)
    t = ReportCount.__table__.c
    rows = sess.connection().execute(sa.select(*(t[k] for k in KEY), t.n, t.amount))
    return {tuple(r[: len(KEY)]): [int(r.n), int(r.amount)] for r in rows if r.n or r.amount}


def check(sess: so.Session) -> list[tuple[Key, list, list]]:
    """Where the running counts differ from the base tables: (key, stored, recomputed)."""
    have, want = stored(sess), recompute(sess)
    return [
        (k, have.get(k, [0, 0]), want.get(k, [0, 0]))
        for k in sorted(set(have) | set(want))
        if have.get(k, [0, 0]) != want.get(k, [0, 0])
    ]


def rebuild(sess: so.Session) -> int:
    """Replace every count with the base tables' (after a migration or a restore); returns the rows."""
    write_pending(sess)
    conn = sess.connection()
    rebuild_marks(conn)
    counts = recompute(sess)
    conn.execute(sa.delete(ReportCount))
    rows = [dict(zip(KEY, key), n=n, amount=amount) for key, (n, amount) in sorted(counts.items())]
    for start in range(0, len(rows), 5000):
        conn.execute(sa.insert(ReportCount), rows[start : start + 5000])
    return len(rows)
