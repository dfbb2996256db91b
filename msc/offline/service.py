"""Offline desks: enrolling a tablet, the offline window an online login opens on it, and the replay of
the records it sealed while offline, each through the same services as the desk's pages.

- A device is enrolled for one centre by someone who works its desk; a centre manager or an admin can
  revoke it. A revoked device's records are refused (and reported to whoever syncs them).
- An online login on an enrolled device opens an offline window (OFFLINE_WINDOW_HOURS, 12 by default): a
  signed grant naming the device, the account and the end of the window, sealed into every record made
  under it. A record made after its window ended is refused.
- Each record has a client id, unique on its device: a record sent twice is applied once, and the second
  sending is answered with what became of the first.
- A registration goes through the registration service (rules, consent, the duplicate check, encryption,
  audit). Possible duplicates wait for the clerk: the record is kept, encrypted under its own key, until
  the clerk decides (the same person, or a new one), and destroyed then.
- A hand-over names the person by their card's token. The items have already left the desk, so a
  hand-over the rules (or the stock) would have refused is recorded and flagged for the centre manager,
  with the reasons.
- Whatever the tablet sends, a record that does not open, is malformed or breaks a rule is refused with
  a reason in words; never an error page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict

from msc import clock
from msc.beneficiaries import service as reception
from msc.beneficiaries.forms import RegistrationForm
from msc.beneficiaries.models import Beneficiary
from msc.beneficiaries.search import CARD_RE, card_token
from msc.centres.models import Centre
from msc.crypto import DataKey, sealed
from msc.db import session, utcnow
from msc.errors import DomainError, RuleError
from msc.forms import has_control_chars, unstorable_text
from msc.nfi import service as nfi
from msc.nfi import stock
from msc.nfi.rules import desk_view
from msc.offline.models import OfflineDevice, OfflineRecord, RecordState
from msc.security import audit
from msc.security.actor import Actor
from msc.security.models import User
from msc.security.policy import Permission, active_centres_of, in_scope, role_allows, scope_filter

KINDS = ("registration", "hand_over")
#: records one sync request may carry (the tablet sends its queue in parts)
MAX_RECORDS = 50
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
_DEVICE_ID = re.compile(r"^[0-9a-f]{32}$")
#: how far a tablet's clock may run behind the server's when a window opens
_CLOCK_SKEW = dt.timedelta(minutes=10)
_LABEL_MAX = 60


class OfflineError(RuleError):
    """An offline desk's request the rules refuse (an unknown or revoked device, a device outside reach)."""


@dataclass
class Outcome:
    """What became of one record sent by a device, as the device is told (no personal data)."""

    client_id: str
    state: str
    message: str = ""
    #: the record's page on the server (for a record waiting on the clerk)
    record_uid: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.client_id, "state": self.state, "message": self.message, "record": self.record_uid}


# ---- devices ---------------------------------------------------------------------------------------


def enrol(user: Actor, centre: Centre, label: str | None) -> OfflineDevice:
    """Enrol the tablet in use as an offline desk of one of the user's centres."""
    if not role_allows(user, Permission.OFFLINE_DESK):
        raise OfflineError(_l("Your role does not work at an offline desk."))
    if not centre.active or not in_scope(user, centre.id):
        raise OfflineError(_l("Choose one of your centres."), field="centre_id")
    label = (label or "").strip()
    if not label:
        raise OfflineError(_l("Name the device, for example “Tablet 2, entry hall”."), field="label")
    if len(label) > _LABEL_MAX:
        raise OfflineError(_l("The name is too long (at most %(n)d characters).", n=_LABEL_MAX), field="label")
    device = OfflineDevice(centre_id=centre.id, label=label, enrolled_by_id=user.id)
    session.add(device)
    session.flush()
    audit.record("offline.device.enrol", object_type="offline_device", object_id=device.id, detail=device.uid)
    return device


def devices_for(user: Actor) -> list[OfflineDevice]:
    """The devices of the centres the user reaches, newest first."""
    ids = [c.id for c in active_centres_of(user)]
    stmt = sa.select(OfflineDevice).where(OfflineDevice.centre_id.in_(ids or [-1])).order_by(OfflineDevice.id.desc())
    return list(session.scalars(stmt))


def device_by_uid(user: Actor, uid: object) -> OfflineDevice:
    """An enrolled device of a centre within the user's reach, or OfflineError (whatever the tablet sent
    as its id: only a device id's 32 hexadecimal characters are looked up)."""
    device = None
    if isinstance(uid, str) and _DEVICE_ID.match(uid):
        device = session.scalar(sa.select(OfflineDevice).where(OfflineDevice.uid == uid))
    if device is None or not in_scope(user, device.centre_id):
        raise OfflineError(_l("This device is not enrolled as an offline desk of your centres."))
    return device


def revoke(user: Actor, device: OfflineDevice) -> None:
    """Revoke a device: it opens no offline window again, and what it sealed and did not sync is refused."""
    if not role_allows(user, Permission.OFFLINE_DEVICES) or not in_scope(user, device.centre_id):
        raise OfflineError(_l("Only a centre manager or an admin of its centre may revoke a device."))
    if device.revoked:
        return
    device.revoked_at = utcnow()
    device.revoked_by_id = user.id
    audit.record("offline.device.revoke", object_type="offline_device", object_id=device.id, detail=device.uid)


# ---- the offline window -------------------------------------------------------------------------------


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="msc-offline-grant")


def window() -> dt.timedelta:
    return dt.timedelta(hours=float(current_app.config["OFFLINE_WINDOW_HOURS"]))


def grant(user: Actor, device: OfflineDevice) -> dict[str, Any]:
    """Open an offline window on a device at an online login: what the tablet keeps (no personal data) —
    the signed grant it seals into its records, when the window ends, and the key it seals them to."""
    if device.revoked:
        raise OfflineError(_l("This device was revoked: it cannot work offline."))
    if not role_allows(user, Permission.OFFLINE_DESK):
        raise OfflineError(_l("Your role does not work at an offline desk."))
    now = utcnow()
    ends = now + window()
    device.last_grant_at = now
    token = _signer().dumps(
        {"d": device.uid, "u": user.id, "c": device.centre_id, "i": int(now.timestamp()), "x": int(ends.timestamp())}
    )
    audit.record("offline.grant", object_type="offline_device", object_id=device.id, detail=device.uid)
    return {
        "device": device.uid,
        "grant": token,
        "ends": ends.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "key": sealed.public_key(),
    }


def _read_grant(token: object, device: OfflineDevice) -> tuple[int, dt.datetime, dt.datetime]:
    """(the account, the start and the end of the window) of a grant sealed in a record of this device."""
    try:
        found = _signer().loads(token) if isinstance(token, str) and len(token) < 400 else None
    except BadSignature:
        found = None
    if not isinstance(found, dict) or found.get("d") != device.uid or found.get("c") != device.centre_id:
        raise OfflineError(_l("The record was not made in an offline window of this device."))
    try:
        ends = dt.datetime.fromtimestamp(int(found["x"]), dt.UTC)
        # (a grant issued before windows said when they opened: as long before its end as a window lasts)
        opened = dt.datetime.fromtimestamp(int(found["i"]), dt.UTC) if "i" in found else ends - window()
        return int(found["u"]), opened, ends
    except (KeyError, TypeError, ValueError, OverflowError):
        raise OfflineError(_l("The record was not made in an offline window of this device.")) from None


# ---- sync ---------------------------------------------------------------------------------------------


def sync(user: Actor, device: OfflineDevice, records: object) -> list[Outcome]:
    """Replay what a device sends, record by record, in the order sent (a household's first person before
    the others). Each is applied once, kept waiting for the clerk, flagged, or refused in words."""
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise OfflineError(_l("Send at most %(n)d records at a time.", n=MAX_RECORDS))
    outcomes = []
    for sent in records:
        outcomes.append(_receive(user, device, sent if isinstance(sent, dict) else {}))
    device.last_sync_at = utcnow()
    return outcomes


def _receive(user: Actor, device: OfflineDevice, sent: dict) -> Outcome:
    client_id, kind = sent.get("id"), sent.get("kind")
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id) or kind not in KINDS:
        return Outcome(str(client_id)[:40], RecordState.REFUSED, str(_l("The record is not one this server knows.")))
    known = _known(device.id, client_id)
    if known is not None:  # sent again (the answer to the first sending was lost): applied once
        return _outcome(known)
    payload: object = None
    record = OfflineRecord(
        device=device,
        device_id=device.id,
        centre_id=device.centre_id,
        client_id=client_id,
        kind=kind,
        state=RecordState.REFUSED,
        synced_by_id=user.id,
    )
    try:  # claimed first: the same record sent twice at once (two tabs) is applied once
        with session.begin_nested():
            session.add(record)
            session.flush()
    except sa.exc.IntegrityError:  # the other sending holds it (and has committed since)
        claimed = _known(device.id, client_id)
        assert claimed is not None
        return _outcome(claimed)
    try:
        if device.revoked:
            raise OfflineError(_l("This device was revoked: what it recorded offline is refused."))
        try:
            plain = sealed.open_record(sent.get("sealed"), sealed.aad(device.uid, client_id, kind))
            payload = json.loads(plain)
        except (sealed.SealError, ValueError, RecursionError):
            raise OfflineError(_l("The record could not be opened: it was altered or cut short.")) from None
        if not isinstance(payload, dict) or unstorable_text(payload) is not None:
            payload = None  # (nothing of it is kept)
            raise OfflineError(_l("The record could not be opened: it was altered or cut short."))
        maker = _maker(record, device, payload)
        with session.begin_nested():
            _replay(maker, record, payload)
    except DomainError as err:
        record.state = RecordState.REFUSED
        record.reason = str(err.message)[:500]
        if kind == "registration" and isinstance(payload, dict) and record.made_by_id is not None:
            _keep(record, payload)  # what was typed is kept for the desk to correct, not lost
    session.flush()
    audit.record(
        "offline.received",
        object_type="offline_record",
        object_id=record.id,
        detail=f"device:{device.uid} record:{client_id} kind:{kind} {record.state}",
        user_id=record.made_by_id or user.id,
    )
    return _outcome(record)


def _known(device_id: int, client_id: str) -> OfflineRecord | None:
    """The record a device sent under this client id, if it was received."""
    stmt = sa.select(OfflineRecord).where(OfflineRecord.device_id == device_id, OfflineRecord.client_id == client_id)
    return session.scalar(stmt)


def _maker(record: OfflineRecord, device: OfflineDevice, payload: dict) -> User:
    """The account the record was made under, once its grant and its time are checked."""
    user_id, opened, ends = _read_grant(payload.get("grant"), device)
    made = _instant(payload.get("made_at"))
    if made is None or made < opened - _CLOCK_SKEW:
        raise OfflineError(_l("The record does not say when it was made in its offline window."))
    if made > ends:
        raise OfflineError(
            _l("The record was made after its offline window ended: log in online on the device, then record it again.")
        )
    record.made_at = made
    maker = session.get(User, user_id)
    needs = Permission.REGISTER if record.kind == "registration" else Permission.NFI_DISTRIBUTE
    if (
        maker is None
        or not maker.active
        or not in_scope(maker, device.centre_id)
        or not (role_allows(maker, Permission.OFFLINE_DESK) and role_allows(maker, needs))
    ):
        raise OfflineError(_l("The account that made the record can no longer work at this centre."))
    record.made_by_id = maker.id
    days = int(current_app.config["OFFLINE_SYNC_DAYS"])
    if utcnow() > ends + dt.timedelta(days=days):
        raise OfflineError(
            _l(
                "The record reached the server more than %(n)d days after its offline window ended: "
                "record it again at the desk.",
                n=days,
            )
        )
    return maker


def _instant(text: object) -> dt.datetime | None:
    """A time as a browser writes it (Date.toISOString: 2026-12-04T10:42:07.123Z), in UTC."""
    for pattern in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return dt.datetime.strptime(str(text)[:40], pattern).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None


def _replay(maker: User, record: OfflineRecord, payload: dict) -> None:
    if record.kind == "registration":
        _register(maker, record, payload)
    else:
        _hand_over(maker, record, payload)


def _centre(record: OfflineRecord) -> Centre:
    return session.get_one(Centre, record.centre_id)


def _form(payload: dict, centre: Centre) -> RegistrationForm:
    """The registration form as the tablet filled it, checked as the page checks it."""
    fields = payload.get("form")
    if not isinstance(fields, dict):
        raise OfflineError(_l("The record could not be opened: it was altered or cut short."))
    data: MultiDict[str, str] = MultiDict()
    for name, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(name, str) and isinstance(v, str | int):
                data.add(name, str(v))
    form = RegistrationForm(formdata=data, meta={"csrf": False}, today=clock.today_at(centre))
    form.set_entry_points(reception.entry_point_choices([centre.country]))
    if not form.validate():
        name, errors = next((name, errors) for name, errors in form.errors.items() if errors)
        label = getattr(form, name).label.text if hasattr(form, name) else name
        raise OfflineError(f"{label}: {errors[0]}", field=name)
    return form


def _register(maker: Actor, record: OfflineRecord, payload: dict, acknowledged: set[int] | None = None) -> None:
    centre = _centre(record)
    form = _form(payload, centre)
    choice = form.household_choice()
    head = payload.get("household_with")
    if head:
        first = _known(record.device_id, str(head)[:40])
        if first is not None and first.state == RecordState.REFUSED:
            raise OfflineError(
                _l("The first person of its household was refused: register the household again, starting with them.")
            )
        person = session.get(Beneficiary, first.beneficiary_id) if first and first.beneficiary_id else None
        if person is None or person.household is None:
            _wait(record, payload, [], _l("Waits for the first person of its household, recorded on the same device."))
            return
        choice = reception.HouseholdChoice(
            join_household_uid=person.household.uid,
            relationship=form.relationship.data if form.relationship.data != "head" else "other_relative",
        )
    try:
        person = reception.register(
            maker,
            centre,
            form.person_data(form.needs.data or []),
            form.consent_data(),
            choice,
            acknowledged,
            hints_seen=acknowledged is not None,
        )
    except reception.PossibleDuplicates as dup:
        found = [c.beneficiary.id for c in dup.candidates]
        _wait(record, payload, found, _l("May already be registered: decide whether it is the same person."))
        return
    record.state = RecordState.APPLIED
    record.beneficiary_id = person.id
    record.reason = None
    audit.record(
        "offline.replay",
        object_type="beneficiary",
        object_id=person.id,
        detail=f"device:{record.device.uid} record:{record.client_id}",
        user_id=maker.id,
    )


def _wait(record: OfflineRecord, payload: dict, candidates: list[int], reason: Any) -> None:
    """Keep a registration for the clerk, encrypted under its own key, with why it waits."""
    record.state = RecordState.WAITING
    record.reason = str(reason)
    _keep(record, {**payload, "candidates": candidates})


def _keep(record: OfflineRecord, payload: dict) -> None:
    if record.data_key is None:
        record.data_key = DataKey.generate()
    record.payload = payload


def _forget(record: OfflineRecord) -> None:
    """Destroy what a record kept of the person (its key with it)."""
    record.payload = None
    if record.data_key is not None:
        record.data_key.destroy()


def _hand_over(maker: User, record: OfflineRecord, payload: dict) -> None:
    centre = _centre(record)
    typed = payload.get("card")
    if not isinstance(typed, str) or not CARD_RE.match(typed.upper().replace(" ", "")):
        raise OfflineError(_l("The card's number is not one MSC Case issues: check it and record it again."))
    token = card_token(typed)
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.card_token == token))
    if person is None or person.is_erased or person.merged_into_id is not None or not in_scope(maker, person.centre_id):
        raise OfflineError(_l("No one in your centres has the card %(token)s.", token=token))
    quantities = payload.get("items")
    if not isinstance(quantities, dict):
        raise OfflineError(_l("Give the quantity of at least one item."))
    view = desk_view(person, stock.active_items(), stock.centre_day(centre))
    # the tablet names items by code: the person's own row, or the household's for a household item
    rows = {v.item.code: v.key for v in view.all() if v.household or v.person.id == person.id}
    asked: dict[str, int] = {}
    for code, n in quantities.items():
        if code not in rows or not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 1000:
            raise OfflineError(_l("Some rows are not on this person's list any more: reload the page."))
        asked[rows[code]] = n
    ack = payload.get("ack")
    if not isinstance(ack, dict):
        ack = {}
    acknowledgement = nfi.Acknowledgement(
        collected_by=str(ack.get("collected_by") or "self"),
        collector_name=_text(ack.get("collector_name")),
        method=str(ack.get("method") or ""),
        signature=_text(ack.get("signature")),
        witness_name=_text(ack.get("witness_name")),
    )
    distribution, problems = nfi.record_given_offline(maker, centre, person, asked, acknowledgement)
    record.beneficiary_id = person.id
    record.distribution_id = distribution.id
    if problems:
        record.state = RecordState.FLAGGED
        record.reason = " ".join(str(p) for _, p in sorted(problems.items()))[:500]
    else:
        record.state = RecordState.APPLIED
    audit.record(
        "offline.replay",
        object_type="nfi_distribution",
        object_id=distribution.id,
        detail=f"device:{record.device.uid} record:{record.client_id}",
        user_id=maker.id,
    )


def _text(value: object) -> str | None:
    if isinstance(value, str) and has_control_chars(value):
        raise OfflineError(_l("Remove the invisible or control characters from this field."))
    return value if isinstance(value, str) else None


def _outcome(record: OfflineRecord) -> Outcome:
    messages = {
        RecordState.APPLIED: _l("Recorded."),
        RecordState.DISCARDED: _l("Decided: already registered."),
    }
    message = record.reason or str(messages.get(record.state, ""))
    return Outcome(record.client_id, record.state, str(message), record.uid)


# ---- what waits for people ------------------------------------------------------------------------------


def waiting_for(user: Actor) -> list[OfflineRecord]:
    """Registrations from offline desks of the user's centres that wait for a decision, oldest first."""
    ids = [c.id for c in active_centres_of(user)]
    stmt = (
        sa.select(OfflineRecord)
        .where(OfflineRecord.centre_id.in_(ids or [-1]), OfflineRecord.state == RecordState.WAITING)
        .order_by(OfflineRecord.id)
    )
    return list(session.scalars(stmt))


def reported_for(user: Actor, open_only: bool = False) -> list[OfflineRecord]:
    """Flagged hand-overs and refused records of the user's centres, newest first (the latest 200);
    `open_only`: those nobody has looked at yet (reviewed by a manager, or put aside by the desk)."""
    ids = [c.id for c in active_centres_of(user)]
    stmt = (
        sa.select(OfflineRecord)
        .where(
            OfflineRecord.centre_id.in_(ids or [-1]),
            OfflineRecord.state.in_((RecordState.FLAGGED, RecordState.REFUSED)),
        )
        .order_by(OfflineRecord.id.desc())
        .limit(200)
    )
    if open_only:
        stmt = stmt.where(OfflineRecord.decided_at.is_(None))
    return list(session.scalars(stmt))


def reviewed(user: Actor, record: OfflineRecord) -> None:
    """A manager has looked at a flagged or refused record (it leaves their landing page)."""
    if not role_allows(user, Permission.OFFLINE_DEVICES) or not in_scope(user, record.centre_id):
        raise OfflineError(_l("Only a centre manager or an admin of its centre may mark it as reviewed."))
    if record.state not in (RecordState.FLAGGED, RecordState.REFUSED) or record.decided_at is not None:
        raise OfflineError(_l("This record was decided already."))
    record.decided_at = utcnow()
    audit.record("offline.reviewed", object_type="offline_record", object_id=record.id)


def record_by_uid(user: Actor, uid: str) -> OfflineRecord:
    record = session.scalar(sa.select(OfflineRecord).where(OfflineRecord.uid == uid[:32]))
    if record is None or not in_scope(user, record.centre_id):
        raise OfflineError(_l("No such offline record in your centres."))
    return record


def waiting_person(user: Actor, record: OfflineRecord) -> tuple[RegistrationForm, list[Beneficiary]]:
    """A waiting registration as typed on the tablet, and the records it may be that the user reaches."""
    payload = record.payload or {}
    form = RegistrationForm(formdata=None, data=_plain(payload.get("form")), meta={"csrf": False})
    ids = [int(i) for i in payload.get("candidates") or [] if isinstance(i, int)]
    stmt = sa.select(Beneficiary).where(Beneficiary.id.in_(ids or [-1]), scope_filter(user, Beneficiary.centre_id))
    people = list(session.scalars(stmt))
    return form, [p for p in people if not p.is_erased and p.merged_into_id is None]


def _plain(fields: object) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if isinstance(k, str)} if isinstance(fields, dict) else {}


def decide(user: Actor, record: OfflineRecord, same_as: int | None) -> OfflineRecord:
    """The clerk's decision on a waiting registration: the same person as one of its candidates (nothing is
    registered; the record leads to theirs), or a new person (registered now, the candidates answered
    "not the same person"). Either way the record's content is destroyed with its key."""
    if record.state != RecordState.WAITING or record.payload is None:
        raise OfflineError(_l("This record was decided already."))
    if not role_allows(user, Permission.REGISTER) or not in_scope(user, record.centre_id):
        raise OfflineError(_l("Your role does not register people."))
    payload = dict(record.payload)
    candidates = {int(i) for i in payload.get("candidates") or []}
    if same_as is not None:
        other = session.get(Beneficiary, same_as) if same_as in candidates else None
        if other is None or not in_scope(user, other.centre_id):
            raise OfflineError(_l("Choose one of the records offered."))
        record.state = RecordState.DISCARDED
        record.beneficiary_id = same_as
        record.reason = None
    else:
        with session.begin_nested():
            _register(user, record, payload, acknowledged=candidates)
        if record.state == RecordState.WAITING:  # its household's first person is still undecided
            return record
    record.decided_at = utcnow()
    _forget(record)
    audit.record(
        "offline.decide",
        object_type="offline_record",
        object_id=record.id,
        detail="same" if same_as is not None else "new",
    )
    _release_members(user, record)
    return record


def _release_members(user: Actor, head: OfflineRecord) -> None:
    """Members of a household whose first person waited are replayed once it is decided."""
    if head.beneficiary_id is None:
        return
    waiting = session.scalars(
        sa.select(OfflineRecord).where(
            OfflineRecord.device_id == head.device_id,
            OfflineRecord.state == RecordState.WAITING,
            OfflineRecord.id != head.id,
        )
    )
    for member in list(waiting):
        payload = dict(member.payload or {})
        if payload.get("household_with") != head.client_id or payload.get("candidates"):
            continue
        maker = session.get(User, member.made_by_id) if member.made_by_id else None
        try:
            with session.begin_nested():
                _register(maker or user, member, payload)
        except RuleError as err:
            member.state = RecordState.REFUSED
            member.reason = str(err.message)[:500]
        if member.state != RecordState.WAITING:
            _forget(member)


def dismiss(user: Actor, record: OfflineRecord) -> None:
    """Put a refused registration aside once the desk registered the person again, or one that waits but
    will not be registered from the tablet (what the tablet recorded is destroyed with its key)."""
    if record.state not in (RecordState.REFUSED, RecordState.WAITING) or record.payload_ct is None:
        raise OfflineError(_l("This record was decided already."))
    if not role_allows(user, Permission.REGISTER) or not in_scope(user, record.centre_id):
        raise OfflineError(_l("Your role does not register people."))
    if record.state == RecordState.WAITING:
        record.state = RecordState.REFUSED
        record.reason = str(_l("Put aside at the desk without registering."))
    record.decided_at = utcnow()
    _forget(record)
    audit.record("offline.dismiss", object_type="offline_record", object_id=record.id)
