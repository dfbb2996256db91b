"""Feedback rules: routing of each kind, what centre staff can never see, bad input, reference codes."""

import pytest
import sqlalchemy as sa

from msc.centres.models import Centre
from msc.db import session
from msc.feedback import service
from msc.feedback.models import Feedback
from msc.feedback.service import FeedbackError
from msc.security.models import AuditEvent, User


@pytest.fixture
def people(ctx, make):
    ids = {
        "clerk": make.user("clerk", "reception"),
        "boss": make.user("boss", "centre_manager"),
        "focal": make.user("focal", "protection_officer"),
        "po": make.user("po", "protection_officer"),
        "cw": make.user("cw", "caseworker"),
        "dpo": make.user("dpo", "dpo", scope="region"),
        "other_boss": make.user("boss_peru", "centre_manager", centres=("PER-TUM",)),
    }
    users = {k: session.get(User, v) for k, v in ids.items()}
    users["focal"].psea_focal_point = True
    session.commit()
    return users


def centre(code="COL-CUC"):
    return session.scalar(sa.select(Centre).where(Centre.code == code))


def send(kind, text="El trato en la fila fue bueno.", channel="self_service", **kw):
    return service.submit(centre(), channel=channel, kind=kind, text=text, **kw)


@pytest.mark.parametrize("kind", ["thanks", "suggestion", "question", "complaint_service"])
def test_ordinary_kinds_go_to_the_centre_manager(people, kind):
    sent = send(kind)
    assert not sent.item.sensitive
    assert sent.item in service.queue(people["boss"])
    assert service.queue(people["focal"]) == [] and service.queue(people["other_boss"]) == []


@pytest.mark.parametrize("kind", service.SENSITIVE_KINDS)
def test_sensitive_kinds_reach_only_the_focal_points(people, kind):
    sent = send(kind, "Un funcionario pidió favores a cambio del kit.")
    item = sent.item
    assert item.sensitive and item.due_on is not None
    assert service.queue(people["focal"]) == [item]
    for who in ("clerk", "boss", "po", "cw", "dpo", "other_boss"):  # not even a count of them
        assert service.queue(people[who]) == [], who
        assert session.scalar(service.visible(people[who], sa.select(sa.func.count(Feedback.id)))) == 0, who
        assert not service.may_see(people[who], item)
    with pytest.raises(FeedbackError):
        service.update(people["boss"], item, status="closed")


def test_text_and_contact_are_encrypted_under_the_items_own_key(people):
    sent = send("question", "¿Dónde renuevo el permiso?", contact="+57 311 555 0101")
    item = sent.item
    assert item.text == "¿Dónde renuevo el permiso?" and b"renuevo" not in item.text_ct
    assert item.contact == "+57 311 555 0101" and b"555" not in item.contact_ct
    assert item.data_key_id is not None and item.beneficiary_id is None


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "write your message"),
        ("   ", "write your message"),
        ("x" * 2001, "shorter"),
        ("<script>alert(1)</script>", "without code"),
        ("mira <img src=x onerror=alert(1)>", "without code"),
        ("ver javascript:alert(1)", "without code"),
        ("\x00\x01binario", "could not be read"),
        ("texto \ufffd roto", "could not be read"),
    ],
)
def test_bad_input_is_refused_in_words(people, text, message):
    with pytest.raises(FeedbackError, match=message):
        send("suggestion", text)
    assert session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_the_reference_code_reveals_only_status_and_answer(people):
    sent = send("question", "¿Hay clases para mi hija?", contact="madre@example.org")
    code = sent.shown_code
    assert len(code) == 11 and code[5] == "-"
    assert service.lookup(code) == service.Status("received", None)
    assert service.lookup(code.lower().replace("-", " ")) == service.Status("received", None)
    with pytest.raises(FeedbackError, match="Write the answer"):
        service.update(people["boss"], sent.item, status="answered")
    service.update(people["boss"], sent.item, status="answered", response="Sí: los martes a las 9 en el aula 2.")
    assert service.lookup(code) == service.Status("answered", "Sí: los martes a las 9 en el aula 2.")
    assert sent.item.answered_on is not None
    # Unknown, guessed, malformed: nothing, and no clue which.
    for guess in ("ABCDE-FGHJK", "22222-22222", "", "x" * 500, "' OR 1=1 --", code[:-1]):
        assert service.lookup(guess) is None
    # The code itself is never stored.
    stored = session.scalar(sa.select(Feedback.reference_hash))
    assert code.replace("-", "") not in stored and len(stored) == 64


def test_desk_feedback_and_surveys(people, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    from msc.beneficiaries.models import Beneficiary

    person_id = session.scalar(sa.select(Beneficiary.id).where(Beneficiary.uid == uid))
    at_desk = send(
        "complaint_service",
        "La fila duró cuatro horas.",
        channel="desk",
        user=people["clerk"],
        beneficiary_id=person_id,
    )
    assert at_desk.item.beneficiary_id == person_id and at_desk.item.recorded_by_id == people["clerk"].id
    with pytest.raises(FeedbackError, match="cannot record"):
        send("thanks", channel="desk", user=people["dpo"])
    # Self-service is anonymous even if a person id is passed.
    assert send("thanks", beneficiary_id=person_id).item.beneficiary_id is None
    survey = service.submit(centre(), channel="survey", kind="", text="", rating=5, service="nfi")
    assert survey.item.kind == "survey" and survey.item.status == "closed" and survey.item.rating == 5
    for rating, svc, message in ((0, "nfi", "1 to 5"), (6, "nfi", "1 to 5"), (3, "spa", "service")):
        with pytest.raises(FeedbackError, match=message):
            service.submit(centre(), channel="survey", kind="", text="", rating=rating, service=svc)


def test_reads_of_sensitive_complaints_are_audited_and_assignment_stays_inside(people, make):
    item = send("misconduct", "El guardia me gritó y me quitó el carné.").item
    service.read(people["focal"], item)
    assert session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "feedback.sensitive.view"))
    with pytest.raises(FeedbackError, match="someone who may see it"):
        service.update(people["focal"], item, status="in_progress", assignee_id=people["boss"].id)
    second = session.get(User, make.user("focal2", "protection_officer"))
    second.psea_focal_point = True
    service.update(people["focal"], item, status="in_progress", assignee_id=second.id)
    assert item.assignee_id == second.id and item.status == "in_progress"
