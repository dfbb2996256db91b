"""Offline desks: the replay of what a device sealed offline — applied once, duplicates back to the clerk,
rules that refuse, hand-overs flagged, expired windows, revoked devices, and records that do not open."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.crypto import sealed
from msc.db import session, utcnow
from msc.nfi import service as nfi
from msc.nfi import stock
from msc.nfi.models import Distribution
from msc.offline import service
from msc.offline.models import OfflineDevice, OfflineRecord, RecordState
from msc.security.models import AuditEvent, User
from tests.conftest import REGIONAL_MANAGER

FORM = {
    "given_names": "Yolimar",
    "family_names": "Castillo Rangel",
    "sex": "female",
    "date_of_birth": "1994-03-08",
    "nationality": "VEN",
    "document_type": "none",
    "household_mode": "new",
    "relationship": "head",
    "consent_registration": "given",
    "consent_referral": "given",
    "consent_government_sharing": "refused",
    "consent_followup_contact": "given",
    "consent_photo": "refused",
    "legal_basis": "consent",
    "method": "verbal",
    "given_by": "self",
    "languages": ["es"],
}

#: a child of the household: consent from her mother, her guardian
CHILD = {
    **FORM,
    "given_names": "Sofía",
    "date_of_birth": "2019-06-01",
    "given_by": "guardian",
    "guardian_name": "Yolimar Castillo Rangel",
}


@pytest.fixture
def desk(app, make):
    """A clerk of COL-CUC, a device enrolled there and the offline window its login opened."""
    clerk = make.user("clerk", "reception")
    make.user("jefa", "centre_manager")
    with app.test_request_context():
        user = session.get(User, clerk)
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        device = service.enrol(user, centre, "Tablet 2, entry hall")
        opened = service.grant(user, device)
        session.commit()
        return {"clerk": clerk, "device": device.uid, "grant": opened}


def _record(desk, kind="registration", client_id=None, made_at=None, grant=None, **payload):
    client_id = client_id or secrets.token_urlsafe(12)
    body = {
        "made_at": (made_at or utcnow()).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "grant": grant or desk["grant"]["grant"],
        **payload,
    }
    if kind == "registration":
        body.setdefault("form", FORM)
    box = sealed.seal_record(
        json.dumps(body).encode(), sealed.aad(desk["device"], client_id, kind), desk["grant"]["key"]
    )
    return {"id": client_id, "kind": kind, "sealed": box}


def _sync(app, desk, *records, user_id=None):
    with app.test_request_context():
        user = session.get(User, user_id or desk["clerk"])
        device = service.device_by_uid(user, desk["device"])
        outcomes = service.sync(user, device, list(records))
        session.commit()
        return [o.as_json() for o in outcomes]


def _people(app, family="Castillo Rangel"):
    with app.app_context():
        return [p for p in session.scalars(sa.select(Beneficiary)) if p.family_names == family]


def _stored(app, client_id) -> SimpleNamespace:
    with app.app_context():
        record = session.scalar(sa.select(OfflineRecord).where(OfflineRecord.client_id == client_id))
        return SimpleNamespace(state=record.state, beneficiary_id=record.beneficiary_id, kept=record.payload_ct)


def test_a_registration_made_offline_is_registered_once_and_audited_with_its_device(app, desk):
    record = _record(desk)
    [first] = _sync(app, desk, record)
    assert first["state"] == RecordState.APPLIED
    [again] = _sync(app, desk, record)  # the answer to the first sending was lost: sent again
    assert again == first
    [person] = _people(app)
    with app.app_context():
        stored = session.scalar(sa.select(OfflineRecord))
        assert stored.beneficiary_id == person.id and stored.made_by_id == desk["clerk"]
        assert stored.payload_ct is None  # nothing of the person is kept beside the record
        origin = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "offline.replay"))
        assert origin.object_id == str(stored.beneficiary_id) and desk["device"] in origin.detail
        assert origin.user_id == desk["clerk"]


def test_a_household_recorded_offline_is_one_household(app, desk):
    head = _record(desk)
    child_form = {**CHILD, "relationship": "child"}
    child = _record(desk, form=child_form, household_with=head["id"])
    outcomes = _sync(app, desk, head, child)
    assert [o["state"] for o in outcomes] == [RecordState.APPLIED] * 2, outcomes
    mother, daughter = sorted(_people(app), key=lambda p: p.date_of_birth)
    assert mother.household_id == daughter.household_id is not None
    assert daughter.relationship_to_head == "child"


def test_a_rule_refuses_the_record_in_words_and_keeps_what_was_typed_until_put_aside(app, desk):
    record = _record(desk, form={**FORM, "consent_registration": "refused"})
    [outcome] = _sync(app, desk, record)
    assert outcome["state"] == RecordState.REFUSED and "consent" in outcome["message"].lower()
    assert _people(app) == []
    with app.test_request_context():
        stored = session.scalar(sa.select(OfflineRecord))
        assert stored.payload["form"]["given_names"] == "Yolimar"  # kept, encrypted, for the desk
        service.dismiss(session.get(User, desk["clerk"]), stored)
        session.commit()
        assert stored.payload_ct is None and stored.data_key.destroyed


def test_a_possible_duplicate_waits_for_the_clerk_who_decides_a_new_person(app, make, desk):
    make.person(given_names="Yolimar", family_names="Castillo Rangel", date_of_birth=dt.date(1994, 3, 8))
    [outcome] = _sync(app, desk, _record(desk))
    assert outcome["state"] == RecordState.WAITING
    assert len(_people(app)) == 1
    with app.test_request_context():
        stored = session.scalar(sa.select(OfflineRecord))
        typed, candidates = service.waiting_person(session.get(User, desk["clerk"]), stored)
        assert typed.given_names.data == "Yolimar" and [c.family_names for c in candidates] == ["Castillo Rangel"]
        service.decide(session.get(User, desk["clerk"]), stored, None)
        session.commit()
        assert stored.state == RecordState.APPLIED and stored.payload_ct is None and stored.data_key.destroyed
    assert len(_people(app)) == 2


def test_a_possible_duplicate_decided_the_same_person_registers_no_one(app, make, desk):
    make.person(given_names="Yolimar", family_names="Castillo Rangel", date_of_birth=dt.date(1994, 3, 8))
    _sync(app, desk, _record(desk))
    existing = _people(app)[0].id
    with app.test_request_context():
        stored = session.scalar(sa.select(OfflineRecord))
        clerk = session.get(User, desk["clerk"])
        with pytest.raises(service.OfflineError, match="records offered"):
            service.decide(clerk, stored, existing + 999)
        service.decide(clerk, stored, existing)
        session.commit()
        assert stored.state == RecordState.DISCARDED and stored.beneficiary_id == existing
        with pytest.raises(service.OfflineError, match="decided already"):
            service.decide(clerk, stored, None)
    assert len(_people(app)) == 1


def test_household_members_wait_for_their_first_person_and_follow_the_decision(app, make, desk):
    make.person(given_names="Yolimar", family_names="Castillo Rangel", date_of_birth=dt.date(1994, 3, 8))
    head = _record(desk)
    child = _record(desk, form=CHILD, household_with=head["id"])
    assert [o["state"] for o in _sync(app, desk, head, child)] == [RecordState.WAITING] * 2
    with app.test_request_context():
        first = session.scalar(sa.select(OfflineRecord).where(OfflineRecord.client_id == head["id"]))
        service.decide(session.get(User, desk["clerk"]), first, None)
        session.commit()
    member = _stored(app, child["id"])
    assert member.state == RecordState.APPLIED and member.kept is None
    mother = _stored(app, head["id"]).beneficiary_id
    with app.app_context():
        kid = session.get(Beneficiary, member.beneficiary_id)
        assert kid.household_id == session.get(Beneficiary, mother).household_id


def test_a_record_made_after_its_window_ended_is_refused(app, desk):
    with app.app_context():
        late = utcnow() + service.window() + dt.timedelta(minutes=5)
    [outcome] = _sync(app, desk, _record(desk, made_at=late))
    assert outcome["state"] == RecordState.REFUSED and "window" in outcome["message"]
    assert _people(app) == []


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(
            lambda box: {**box, "ct": box["ct"][:-4] + ("AAAA" if box["ct"][-4:] != "AAAA" else "BBBB")}, id="altered"
        ),
        pytest.param(lambda box: {**box, "ct": box["ct"][:10]}, id="truncated"),
        pytest.param(lambda box: {**box, "iv": ""}, id="no-iv"),
        pytest.param(lambda box: {**box, "epk": "not base64 !"}, id="bad-key"),
        pytest.param(lambda box: {**box, "epk": box["epk"][:-8] + "AAAAAAAA"}, id="off-curve"),
        pytest.param(lambda box: {**box, "kid": "kek-gone"}, id="unknown-key"),
        pytest.param(lambda box: "a string", id="not-a-record"),
    ],
)
def test_a_record_that_does_not_open_is_refused_and_reported_never_an_error(app, desk, spoil):
    record = _record(desk)
    record["sealed"] = spoil(record["sealed"])
    [outcome] = _sync(app, desk, record)
    assert outcome["state"] == RecordState.REFUSED and "could not be opened" in outcome["message"]
    assert _people(app) == []
    with app.app_context():
        received = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "offline.received"))
        assert "refused" in received.detail


def test_a_record_moved_to_another_id_or_kind_does_not_open(app, desk):
    record = _record(desk)
    moved = {**record, "id": secrets.token_urlsafe(12)}
    relabelled = {**record, "id": secrets.token_urlsafe(12), "kind": "hand_over"}
    outcomes = _sync(app, desk, moved, relabelled)
    assert [o["state"] for o in outcomes] == [RecordState.REFUSED] * 2


def test_a_grant_of_another_device_is_refused(app, desk):
    with app.test_request_context():
        user = session.get(User, desk["clerk"])
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        other = service.grant(user, service.enrol(user, centre, "Phone 1"))
        session.commit()
    [outcome] = _sync(app, desk, _record(desk, grant=other["grant"]))
    assert outcome["state"] == RecordState.REFUSED and "offline window of this device" in outcome["message"]


def test_a_revoked_device_has_its_queue_refused_and_opens_no_window(app, desk):
    with app.test_request_context():
        manager = session.scalar(sa.select(User).where(User.username == "jefa"))
        clerk = session.get(User, desk["clerk"])
        device = service.device_by_uid(manager, desk["device"])
        with pytest.raises(service.OfflineError, match="centre manager"):
            service.revoke(clerk, device)
        service.revoke(manager, device)
        session.commit()
        with pytest.raises(service.OfflineError, match="revoked"):
            service.grant(clerk, device)
    [outcome] = _sync(app, desk, _record(desk))
    assert outcome["state"] == RecordState.REFUSED and "revoked" in outcome["message"]
    assert _people(app) == []
    with app.test_request_context():
        manager = session.scalar(sa.select(User).where(User.username == "jefa"))
        assert [r.state for r in service.reported_for(manager)] == [RecordState.REFUSED]


def test_malformed_requests_are_refused_in_words(app, desk):
    with app.test_request_context():
        user = session.get(User, desk["clerk"])
        device = service.device_by_uid(user, desk["device"])
        with pytest.raises(service.OfflineError):
            service.sync(user, device, "not a list")
        with pytest.raises(service.OfflineError):
            service.sync(user, device, [{}] * (service.MAX_RECORDS + 1))
        outcomes = service.sync(
            user, device, [{"id": "x" * 12, "kind": "parcel"}, 7, {"id": "../../etc", "kind": "registration"}]
        )
        assert {o.state for o in outcomes} == {RecordState.REFUSED}
        with pytest.raises(service.OfflineError, match="not enrolled"):
            service.device_by_uid(user, "nope")


def _card_and_stock(app, make, received=5):
    uid = make.person(given_names="Ana", family_names="Rojas")
    with app.test_request_context():
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        centre = session.get(Centre, person.centre_id)
        item = nfi.item_by_code("HYG")
        if received:
            stock.receive(
                REGIONAL_MANAGER,
                centre,
                reference="GR-9",
                source="warehouse",
                received_on=stock.centre_day(centre),
                lines={item.id: received},
            )
        session.commit()
        return person.card_token, centre.id, item.id


def test_a_hand_over_made_offline_is_recorded_against_the_card(app, make, desk):
    token, centre_id, item_id = _card_and_stock(app, make)
    typed = token.replace("-", " ").lower()  # typed from the card as it comes
    record = _record(desk, "hand_over", card=typed, items={"HYG": 1}, ack={"method": "thumbprint"})
    [outcome] = _sync(app, desk, record)
    assert outcome["state"] == RecordState.APPLIED
    with app.app_context():
        given = session.scalar(sa.select(Distribution))
        assert given.beneficiary.card_token == token and [line.quantity for line in given.lines] == [1]
        assert stock.on_hand(centre_id, item_id) == 4
        assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "nfi.hand_over.offline"))


def test_a_hand_over_the_rules_would_refuse_is_recorded_and_flagged_with_the_reasons(app, make, desk):
    token, centre_id, item_id = _card_and_stock(app, make, received=1)
    # three kits where the rules allow one a month and the stock holds one: the kits left the desk already
    record = _record(desk, "hand_over", card=token, items={"HYG": 3}, ack={"method": "thumbprint"})
    [outcome] = _sync(app, desk, record)
    assert outcome["state"] == RecordState.FLAGGED
    assert "At most" in outcome["message"] and "count it" in outcome["message"]
    with app.test_request_context():
        assert stock.on_hand(centre_id, item_id) == 0  # never below zero
        assert [line.quantity for line in session.scalar(sa.select(Distribution)).lines] == [3]
        manager = session.scalar(sa.select(User).where(User.username == "jefa"))
        assert [r.state for r in service.reported_for(manager)] == [RecordState.FLAGGED]


def test_a_hand_over_with_an_unknown_card_or_item_is_refused(app, make, desk):
    token, _, _ = _card_and_stock(app, make)
    unknown = _record(desk, "hand_over", card="AAAA-AAAA-AAAA-AAAA", items={"HYG": 1}, ack={"method": "thumbprint"})
    item = _record(desk, "hand_over", card=token, items={"NOPE": 1}, ack={"method": "thumbprint"})
    no_ack = _record(desk, "hand_over", card=token, items={"HYG": 1}, ack={"method": "signature"})
    outcomes = _sync(app, desk, unknown, item, no_ack)
    assert [o["state"] for o in outcomes] == [RecordState.REFUSED] * 3
    assert "AAAA-AAAA-AAAA-AAAA" in outcomes[0]["message"]
    with app.app_context():
        assert session.scalar(sa.select(Distribution)) is None


def test_nothing_the_device_sealed_is_stored_in_clear(app, desk):
    _sync(app, desk, _record(desk, form={**FORM, "consent_registration": "refused", "phone": "+57 301 555 0199"}))
    with app.app_context():
        raw = session.execute(sa.text("SELECT * FROM offline_records")).all()
        dump = repr(raw).encode()
        assert b"Yolimar" not in dump and b"555 0199" not in dump
        assert session.scalar(sa.select(OfflineDevice)).label == "Tablet 2, entry hall"


def test_a_record_sent_twice_at_once_is_applied_once(app, desk, monkeypatch):
    record = _record(desk)
    [first] = _sync(app, desk, record)
    # the second sending looked before the first one's row was there (two tabs at once): its claim fails
    found, calls = service._known, []

    def late(device, client_id):
        calls.append(client_id)
        return None if len(calls) == 1 else found(device, client_id)

    monkeypatch.setattr(service, "_known", late)
    [second] = _sync(app, desk, record)
    assert second == first and len(_people(app)) == 1


def test_a_manager_reviews_a_flagged_hand_over_and_it_leaves_the_landing_page(app, make, desk):
    token, _, _ = _card_and_stock(app, make, received=1)
    _sync(app, desk, _record(desk, "hand_over", card=token, items={"HYG": 3}, ack={"method": "thumbprint"}))
    with app.test_request_context():
        manager = session.scalar(sa.select(User).where(User.username == "jefa"))
        clerk = session.get(User, desk["clerk"])
        [flagged] = service.reported_for(manager, open_only=True)
        with pytest.raises(service.OfflineError, match="centre manager"):
            service.reviewed(clerk, flagged)
        service.reviewed(manager, flagged)
        session.commit()
        assert service.reported_for(manager, open_only=True) == []
        assert [r.state for r in service.reported_for(manager)] == [RecordState.FLAGGED]  # still listed
        with pytest.raises(service.OfflineError, match="decided already"):
            service.reviewed(manager, flagged)


# ---- what a forged or broken record cannot do ------------------------------------------------------------


@pytest.mark.parametrize("sent", [123, ["x"], {"a": 1}, "ab\x00cd", None, "0" * 31 + "g"])
def test_a_device_id_that_is_not_one_is_not_enrolled(app, desk, sent):
    with app.test_request_context():
        user = session.get(User, desk["clerk"])
        with pytest.raises(service.OfflineError, match="not enrolled"):
            service.device_by_uid(user, sent)


def test_a_record_that_cannot_be_stored_or_read_is_refused_and_nothing_of_it_kept(app, make, desk):
    token, _, _ = _card_and_stock(app, make)
    aad = sealed.aad(desk["device"], "deep-000001", "registration")
    plain = b'{"form": ' + b"[" * 40_000 + b"]" * 40_000 + b"}"  # nested past what the parser recurses
    nested = {
        "id": "deep-000001",
        "kind": "registration",
        "sealed": sealed.seal_record(plain, aad, desk["grant"]["key"]),
    }
    surrogate = _record(desk, form={**FORM, "given_names": "Ana\ud800"})
    nul_card = _record(desk, "hand_over", card="AAAA\x00AAA-AAAA-AAAA", items={"HYG": 1}, ack={"method": "thumbprint"})
    hidden = _record(
        desk, "hand_over", card=token, items={"HYG": 1}, ack={"method": "thumbprint", "witness_name": "a\u202eb"}
    )
    outcomes = _sync(app, desk, nested, surrogate, nul_card, hidden)
    assert [o["state"] for o in outcomes] == [RecordState.REFUSED] * 4
    assert "altered" in outcomes[1]["message"] and "altered" in outcomes[2]["message"]
    assert "control characters" in outcomes[3]["message"]
    assert _stored(app, surrogate["id"]).kept is None


def test_a_record_dated_before_its_window_opened_is_refused_and_the_pages_still_show(app, client, auth, desk):
    [outcome] = _sync(
        app, desk, _record(desk, made_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC), form={**FORM, "consent_registration": ""})
    )
    assert outcome["state"] == RecordState.REFUSED and "window" in outcome["message"]
    auth.login("jefa")
    assert client.get("/offline/devices").status_code == 200
    assert client.get(f"/offline/records/{outcome['record']}").status_code == 200


def test_an_account_whose_role_no_longer_works_at_the_desk_makes_nothing_offline(app, desk):
    with app.test_request_context():
        session.get(User, desk["clerk"]).role = "protection_officer"
        session.commit()
    outcomes = _sync(app, desk, _record(desk), user_id=None)
    assert outcomes[0]["state"] == RecordState.REFUSED and _people(app) == []


def test_a_grant_copied_off_a_tablet_makes_nothing_once_its_records_are_overdue(app, desk, monkeypatch):
    with app.test_request_context():
        issued = utcnow() - dt.timedelta(days=30)
        monkeypatch.setattr(service, "utcnow", lambda: issued)
        old = service.grant(session.get(User, desk["clerk"]), session.scalar(sa.select(OfflineDevice)))
        monkeypatch.undo()
        session.commit()
    inside_its_window = issued + dt.timedelta(hours=1)
    [outcome] = _sync(app, desk, _record(desk, made_at=inside_its_window, grant=old["grant"]))
    assert outcome["state"] == RecordState.REFUSED and "days after" in outcome["message"]
    assert _people(app) == []


def test_a_household_member_whose_first_person_was_refused_is_refused_too_and_can_be_put_aside(app, desk):
    head = _record(desk, form={**FORM, "consent_registration": ""})
    child = _record(desk, form=CHILD, household_with=head["id"])
    outcomes = _sync(app, desk, head, child)
    assert [o["state"] for o in outcomes] == [RecordState.REFUSED] * 2
    assert "first person of its household" in outcomes[1]["message"]
    with app.test_request_context():
        member = session.scalar(sa.select(OfflineRecord).where(OfflineRecord.client_id == child["id"]))
        assert member.payload_ct is not None  # kept for the desk to register the household again
        service.dismiss(session.get(User, desk["clerk"]), member)
        session.commit()
    assert _stored(app, child["id"]).kept is None


def test_a_waiting_record_can_be_put_aside_and_leaves_the_desk(app, make, desk):
    make.person(given_names="Yolimar", family_names="Castillo Rangel", date_of_birth=dt.date(1994, 3, 8))
    [outcome] = _sync(app, desk, _record(desk))
    assert outcome["state"] == RecordState.WAITING
    with app.test_request_context():
        user = session.get(User, desk["clerk"])
        record = session.scalar(sa.select(OfflineRecord))
        service.dismiss(user, record)
        session.commit()
        assert service.waiting_for(user) == [] and record.state == RecordState.REFUSED and record.payload_ct is None
