"""Key rotation from the DPO's page and the command line: a new KEK re-wraps every data key in committed
batches (carried on after an interruption, with its progress), then the old KEK is retired; a new index
key rebuilds every search entry while searches stay correct, switches, removes the old entries, and the
old index key is retired. Nothing becomes unreadable or unfindable on the way."""

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from msc import create_app
from msc.beneficiaries import search
from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary, BlindIndexEntry, NameVocabulary
from msc.crypto import keyring, legacy_reference_hashes, rotation
from msc.crypto.fields import DataKey
from msc.crypto.keys import FIRST_INDEX_KEY, EnvKeyProvider
from msc.crypto.rotation import GenerationState, KekRotationState
from msc.db import session
from msc.dpo import erasure, keys
from msc.jobs import runner
from msc.jobs.models import Job
from msc.jobs.registry import Context
from msc.security.actor import SYSTEM
from msc.security.models import AuditEvent, User
from tests.conftest import statements_run
from tests.test_access import login_as

JSON = {"Accept": "application/json"}
QUERIES = {  # a query, and whom it must find first
    "maria jose perez": "María José Pérez García",
    "Jsoe Perez": "María José Pérez García",  # one transposition: the name vocabulary
    "Gonsalez": "Luis González Rincón",  # sound-alike
    "03/02/1988": "María José Pérez García",
    "V18555321": "María José Pérez García",
    "4145551234": "Luis González Rincón",
}


def _people(make) -> dict[str, str]:
    return {
        "maria": make.person(
            given_names="María José",
            family_names="Pérez García",
            date_of_birth=dt.date(1988, 2, 3),
            document_type="national_id",
            document_number="V-18.555.321",
        ),
        "luis": make.person(
            given_names="Luis",
            family_names="González Rincón",
            date_of_birth=dt.date(1975, 6, 1),
            phone="+58 414 555 1234",
            sex="male",
        ),
        "ana": make.person(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(2001, 9, 9)),
    }


def _first(query: str) -> str | None:
    hits = search.search(SYSTEM, query).hits
    return hits[0].person.full_name if hits else None


def _all_found():
    return {q: _first(q) for q in QUERIES}


@pytest.fixture
def dpo(app, make, client):
    app.config["WTF_CSRF_ENABLED"] = False
    login_as(app, client, make.user("dpo", "dpo", scope="region"))
    return client


# ---- KEK ------------------------------------------------------------------------------------------


def _run_rotation_job(app, monkeypatch, each_step=None) -> tuple[Job, list[tuple[int, int | None]]]:
    """Run the queued rotation job as the worker would, recording its progress (and checking each step)."""
    seen: list[tuple[int, int | None]] = []
    report = Context.progress

    def progress(ctx, done, total=None):
        report(ctx, done, total)
        seen.append((done, total))
        if each_step is not None:
            each_step()

    monkeypatch.setattr(Context, "progress", progress)
    with app.app_context():
        [job_id] = session.scalars(sa.select(Job.id).where(Job.kind == "keys.rotate", Job.state == "queued")).all()
        runner.run_queued()
        return session.get(Job, job_id), seen


def test_kek_rotation_from_the_page_runs_as_a_job_then_the_old_key_is_retired(app, make, dpo, monkeypatch):
    uids = _people(make)
    monkeypatch.setattr(rotation, "BATCH", 1)
    monkeypatch.setattr(keys, "STEP_SECONDS", 0)  # one batch a step, to watch the progress
    with app.app_context():
        old = keyring().active_kek
        live = session.scalar(sa.select(sa.func.count()).select_from(DataKey).where(DataKey.wrapped.is_not(None)))
    assert live >= 3

    with dpo.get("/dpo/keys") as page:
        assert page.status_code == 200 and old in page.get_data(as_text=True)
    with dpo.post("/dpo/keys/kek/start") as res:
        assert res.status_code == 302
    with app.app_context():
        new = keyring().active_kek
        job = rotation.running(rotation.KEK)
        assert new != old and job.key_id == new and job.previous_key_id == old and job.total == live
        assert new in json.loads(Path(app.config["KEYS_FILE"]).read_text())["keks"]
    with dpo.get("/dpo/keys") as page:  # the job waits for the worker; the page follows it
        text = page.get_data(as_text=True)
        assert "Waiting for the worker" in text and "data-job-status" in text and "jobs.js" in text
        assert 'http-equiv="refresh"' in text and "Continue the rotation" not in text
    with dpo.post("/dpo/keys/kek/step", headers=JSON) as res:  # a second click: the same job
        queued = res.get_json()
        assert queued["state"] == "queued" and not queued["finished"]

    # the old key cannot go while data keys still need it: said in words
    with dpo.post("/dpo/keys/retire", data={"kind": "kek", "key_id": old}, follow_redirects=True) as res:
        assert f"{live} data keys are still wrapped by this key" in res.get_data(as_text=True)

    done_job, seen = _run_rotation_job(app, monkeypatch)
    assert done_job.id == queued["id"] and done_job.state == "done" and done_job.outcome_count == live
    # one batch a step, each one reported (the last step finds nothing left and says it is done)
    assert seen == sorted(seen) and sorted(set(seen)) == [(i, live) for i in range(1, live + 1)]
    with dpo.get(f"/jobs/{done_job.id}/status") as res:
        body = res.get_json()
    assert body["finished"] and body["percent"] == 100 and "Data keys re-wrapped" in body["label"]
    with dpo.get("/dpo/keys") as page:
        text = page.get_data(as_text=True)
        assert "re-wrapped under" in text and 'http-equiv="refresh"' not in text
    with app.app_context():
        assert rotation.keys_by_kek() == {new: live}
        assert rotation.check().failed == []
        assert rotation.retirable_keks() == [old]
        assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "keys.rotate")) is not None

    with dpo.post("/dpo/keys/retire", data={"kind": "kek", "key_id": old}, follow_redirects=True) as res:
        # other server processes may still wrap new data keys under the old KEK for a moment
        assert "wait a few seconds" in res.get_data(as_text=True)
    monkeypatch.setattr(rotation, "RETIRE_AFTER_SECONDS", 0)
    with dpo.post("/dpo/keys/retire", data={"kind": "kek", "key_id": old}, follow_redirects=True) as res:
        assert f"Key {old} retired" in res.get_data(as_text=True)
    assert old not in json.loads(Path(app.config["KEYS_FILE"]).read_text())["keks"]
    # another process, which only knows the new KEK, reads everyone
    fresh = create_app(
        "testing",
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_FILE": app.config["KEYS_FILE"],
        },
    )
    try:
        with fresh.app_context():
            names = {p.uid: p.given_names for p in session.scalars(sa.select(Beneficiary))}
            assert names[uids["maria"]] == "María José" and names[uids["luis"]] == "Luis"
    finally:
        fresh.extensions["msc.engine"].dispose()
    with dpo.get("/dpo/") as page:
        assert "Key rotations and retirements" in page.get_data(as_text=True)


def test_an_interrupted_kek_rotation_is_carried_on_by_another_process(app, make, monkeypatch):
    _people(make)
    monkeypatch.setattr(rotation, "BATCH", 1)
    with app.app_context():
        job = keys.start(SYSTEM, rotation.KEK)
        keys.step(SYSTEM, rotation.KEK, seconds=0)  # one committed batch, then the process "dies"
        job_id, new, total = job.id, job.key_id, job.total
        assert job.done == 1 and job.percent < 100
    other = create_app(
        "testing",
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_FILE": app.config["KEYS_FILE"],
        },
    )
    try:
        result = other.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert f"re-wrapped {total} data keys under {new}" in result.output
        with other.app_context():
            job = session.get(rotation.KeyRotation, job_id)
            assert job.state == KekRotationState.DONE and job.done == total
            assert (
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(rotation.KeyRotation)
                    .where(rotation.KeyRotation.kind == rotation.KEK)
                )
                == 1
            )
            assert rotation.keys_by_kek() == {new: total}
    finally:
        other.extensions["msc.engine"].dispose()


def test_a_process_sees_a_kek_another_process_added(app, make):
    uid = make.person(given_names="Rosa", family_names="Villalobos")
    other = create_app(
        "testing",
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_FILE": app.config["KEYS_FILE"],
        },
    )
    try:
        with other.app_context():
            keyring()  # loaded before the rotation
        with app.app_context():
            keys.run_to_end(SYSTEM, keys.start(SYSTEM, rotation.KEK).kind)
            new = keyring().active_kek
        with other.app_context():
            person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
            assert person.given_names == "Rosa"  # its data key is under the new KEK: reloaded on demand
            assert keyring().active_kek == new
    finally:
        other.extensions["msc.engine"].dispose()


def test_kek_rotation_refusals_are_said_in_words(app, make, dpo):
    make.person(given_names="Rosa", family_names="Villalobos")
    with app.app_context():
        active = keyring().active_kek
    with dpo.post("/dpo/keys/kek/step", headers=JSON) as res:
        assert res.status_code == 409 and res.get_json()["error"] == "There is no rotation to continue."
    with dpo.post("/dpo/keys/retire", data={"kind": "kek", "key_id": active}, follow_redirects=True) as res:
        assert "The active key-encryption key cannot be retired." in res.get_data(as_text=True)
    with dpo.post("/dpo/keys/retire", data={"kind": "kek", "key_id": "kek-nope"}, follow_redirects=True) as res:
        assert "This key is not in the key ring." in res.get_data(as_text=True)
    with dpo.post("/dpo/keys/retire", data={"kind": "other", "key_id": ""}, follow_redirects=True) as res:
        assert "Choose a key to retire." in res.get_data(as_text=True)
    dpo.post("/dpo/keys/kek/start").close()
    with dpo.post("/dpo/keys/kek/start", follow_redirects=True) as res:
        assert "A rotation of this kind is already under way: continue it." in res.get_data(as_text=True)


def test_keys_from_the_environment_rotate_to_the_kek_made_active_there(app, make, monkeypatch):
    monkeypatch.setattr(rotation, "RETIRE_AFTER_SECONDS", 0)
    make.person(given_names="Rosa", family_names="Villalobos")
    import base64

    with app.app_context():
        ring = keyring()
        old = ring.active_kek
        b64 = {k: base64.b64encode(v).decode() for k, v in ring.keks.items()}
        config = {
            "KEKS": f"{old}:{b64[old]},kek-env2:{base64.b64encode(b'n' * 32).decode()}",
            "ACTIVE_KEK": old,
            "INDEX_KEY": base64.b64encode(ring.index_key(FIRST_INDEX_KEY)).decode(),
            "AUDIT_KEY": base64.b64encode(ring.audit_key).decode(),
        }
        app.extensions["msc.keys"] = EnvKeyProvider(config).load()
        with pytest.raises(keys.KeysError, match="nothing to re-wrap"):
            keys.start(SYSTEM, rotation.KEK)
        with pytest.raises(keys.KeysError, match="MSC_KEKS"):
            keys.start(SYSTEM, rotation.KEK, new_kek=True)
        with pytest.raises(keys.KeysError, match="MSC_INDEX_KEYS"):
            keys.start(SYSTEM, rotation.INDEX)
        # the operator made the new KEK active and restarted
        app.extensions["msc.keys"] = EnvKeyProvider({**config, "ACTIVE_KEK": "kek-env2"}).load()
        job = keys.run_to_end(SYSTEM, keys.start(SYSTEM, rotation.KEK).kind)
        assert job.key_id == "kek-env2" and rotation.keys_by_kek() == {"kek-env2": job.total}
        with pytest.raises(keys.KeysError, match="environment"):
            keys.retire(SYSTEM, rotation.KEK, old)


# ---- index key ------------------------------------------------------------------------------------


def _generations() -> dict[int, int]:
    return dict(
        session.execute(
            sa.select(BlindIndexEntry.generation, sa.func.count()).group_by(BlindIndexEntry.generation)
        ).all()
    )


def test_index_rotation_keeps_searches_right_throughout(app, make, dpo, monkeypatch):
    uids = _people(make)
    monkeypatch.setattr(keys, "PEOPLE_BATCH", 1)
    monkeypatch.setattr(keys, "DROP_BATCH", 1)
    monkeypatch.setattr(keys, "STEP_SECONDS", 0)
    with app.app_context():
        before = _all_found()
        assert all(before[q] == who for q, who in QUERIES.items())
        assert rotation.index_state().search == rotation.IndexGeneration(1, FIRST_INDEX_KEY)

    with dpo.post("/dpo/keys/index/start") as res:
        assert res.status_code == 302
    with app.app_context():
        job = rotation.running(rotation.INDEX)
        new_key = job.key_id
        assert job.state == GenerationState.BUILDING and job.total == 3 and job.previous_key_id == FIRST_INDEX_KEY
        assert new_key in json.loads(Path(app.config["KEYS_FILE"]).read_text())["index_keys"]
        state = rotation.index_state()
        assert state.search.generation == 1 and [g.generation for g in state.writes] == [1, job.generation]

    with app.app_context():  # one person in the new generation (the command line's step, beside the job)
        step = keys.step(SYSTEM, rotation.INDEX, seconds=0)
        assert keys.phase(step) == "building" and step.done == 1
    with dpo.get("/dpo/keys") as page:
        assert "Waiting for the worker" in page.get_data(as_text=True)  # the job follows on from the step
    with app.app_context():
        assert _all_found() == before
        # a registration and an edit meanwhile go into both generations
        late = make.person(given_names="Yessica", family_names="Hernández", date_of_birth=dt.date(1999, 1, 1))
        ana = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uids["ana"]))
        reception.update(
            SYSTEM,
            ana,
            reception.PersonData(
                given_names="Ana Lucía",
                family_names="Rojas Mena",
                sex="female",
                nationality="VEN",
                date_of_birth=ana.date_of_birth,
            ),
        )
        session.commit()
        gens = _generations()
        assert set(gens) == {1, job.generation}
        assert _first("yesica ernandez") == "Yessica Hernández" and _first("lucia mena") == "Ana Lucía Rojas Mena"

    phases = []

    def each_step():  # inside the job, after each committed batch
        phases.append(keys.phase(session.get(rotation.KeyRotation, job.id)))
        assert _all_found() == before  # at every step, on either side of the switch
        assert _first("lucia mena") == "Ana Lucía Rojas Mena"

    finished, _seen = _run_rotation_job(app, monkeypatch, each_step)
    assert finished.state == "done" and finished.outcome == "reindexed"
    assert phases[-1] == "done" and "cleaning" in phases and phases.index("cleaning") > 0
    with app.app_context():
        done = session.get(rotation.KeyRotation, job.id)
        assert done.state == GenerationState.ACTIVE and done.done == 4 and done.finished_at is not None
        assert rotation.index_state().search == rotation.IndexGeneration(done.generation, new_key)
        assert set(_generations()) == {done.generation}
        assert set(session.scalars(sa.select(NameVocabulary.generation).distinct())) == {done.generation}
        assert rotation.retirable_index_keys() == [FIRST_INDEX_KEY]
        actions = set(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.startswith("keys."))))
        assert {"keys.rotation_started", "keys.index_switched", "keys.index_rotate"} <= actions

    with dpo.post("/dpo/keys/retire", data={"kind": "index", "key_id": FIRST_INDEX_KEY}, follow_redirects=True) as res:
        assert f"Key {FIRST_INDEX_KEY} retired" in res.get_data(as_text=True)
    stored = json.loads(Path(app.config["KEYS_FILE"]).read_text())
    assert list(stored["index_keys"]) == [new_key] and "index_key" not in stored
    fresh = create_app(
        "testing",
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_FILE": app.config["KEYS_FILE"],
        },
    )
    try:
        with fresh.app_context():
            assert _all_found() == before
            assert _first("yesica ernandez") == "Yessica Hernández"
            assert search.search(SYSTEM, "Rojas").hits[0].person.uid == uids["ana"]
            late_person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == late))
            assert late_person.given_names == "Yessica"
    finally:
        fresh.extensions["msc.engine"].dispose()


def test_an_edit_under_way_when_the_rotation_starts_is_in_the_new_generation(app, make):
    """A desk saving an edit holds the generations lock (shared) from before it reads which generations
    to write; the rotation starts holding it alone, so it waits for the edit, and its batches then
    index the edited record (real parallel connections)."""
    import threading

    uids = _people(make)
    edit_saved, let_it_commit, started = threading.Event(), threading.Event(), threading.Event()

    def desk():
        with app.app_context():
            luis = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uids["luis"]))
            reception.update(
                SYSTEM,
                luis,
                reception.PersonData(
                    given_names="Luis Alberto",
                    family_names="Zambrano",
                    sex="male",
                    nationality="VEN",
                    date_of_birth=luis.date_of_birth,
                    phone=luis.phone,
                ),
            )
            edit_saved.set()
            let_it_commit.wait(20)
            session.commit()

    def dpo():
        with app.app_context():
            edit_saved.wait(20)
            keys.start(SYSTEM, rotation.INDEX)
            started.set()

    threads = [threading.Thread(target=desk), threading.Thread(target=dpo)]
    for t in threads:
        t.start()
    assert edit_saved.wait(20)
    assert not started.wait(1.0), "the rotation must wait for the edit under way"
    let_it_commit.set()
    for t in threads:
        t.join(30)
    assert started.is_set()
    with app.app_context():
        keys.run_to_end(SYSTEM, rotation.INDEX)
        assert rotation.index_state().search.key_id != FIRST_INDEX_KEY
        assert _first("zambrano") == "Luis Alberto Zambrano"
        assert _first("Gonsalez") is None  # the old name is gone from the index too


def test_keys_left_under_an_older_kek_are_rewrapped_from_the_page(app, make, dpo):
    _people(make)
    with app.app_context():
        keys.run_to_end(SYSTEM, keys.start(SYSTEM, rotation.KEK).kind)
        old = session.get(
            rotation.KeyRotation,
            rotation.running(rotation.KEK)
            or session.scalar(sa.select(rotation.KeyRotation.id).order_by(rotation.KeyRotation.id.desc()).limit(1)),
        ).previous_key_id
        # a process that had not yet seen the new KEK wrapped one more data key under the old one
        stray = session.scalars(sa.select(DataKey).where(DataKey.wrapped.is_not(None))).first()
        stray.rewrap(old)
        session.commit()
    with dpo.get("/dpo/keys") as page:
        assert "Re-wrap the 1 data key still under an older key" in page.get_data(as_text=True)
    with dpo.post("/dpo/keys/kek/start", data={"rewrap": "1"}) as res:
        assert res.status_code == 302
    with app.app_context():
        job = rotation.running(rotation.KEK)
        assert job.previous_key_id is None and job.total == 1 and job.key_id == keyring().active_kek
        keys.run_to_end(SYSTEM, rotation.KEK)
        assert set(rotation.keys_by_kek()) == {keyring().active_kek}


def test_a_data_key_that_does_not_open_stops_the_rotation_in_words(app, make, dpo):
    make.person(given_names="Rosa", family_names="Villalobos")
    with app.app_context():
        key = session.scalars(sa.select(DataKey)).first()
        key.uid = "0" * 32  # its wrapping no longer matches
        session.commit()
    dpo.post("/dpo/keys/kek/start").close()
    with app.app_context():
        runner.run_queued()
        assert session.scalar(sa.select(Job.outcome).where(Job.kind == "keys.rotate")) == "broken"
    with dpo.get("/dpo/keys") as page:
        text = page.get_data(as_text=True)
        assert "flask --app msc keys check" in text and "Continue the rotation" in text
    with dpo.post("/dpo/keys/kek/step", headers=JSON) as res:  # carried on by a new job
        assert res.status_code == 200 and res.get_json()["state"] == "queued"


def test_erasure_during_an_index_rotation_leaves_nothing_in_either_generation(app, make):
    uids = _people(make)
    make.user("dpo", "dpo", scope="region")
    with app.app_context():
        officer = session.scalar(sa.select(User).where(User.username == "dpo"))
        job = keys.start(officer, rotation.INDEX)
        keys.step(officer, rotation.INDEX, seconds=0)
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uids["maria"]))
        erasure.erase(officer, person, "subject_request")
        session.commit()
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(BlindIndexEntry)
                .where(BlindIndexEntry.beneficiary_id == person.id)
            )
            == 0
        )
        keys.run_to_end(officer, rotation.INDEX)
        assert rotation.index_state().search.generation == job.generation
        for query in ("maria jose perez", "03/02/1988", "V18555321"):
            assert _first(query) is None
        assert _first("Gonsalez") == "Luis González Rincón"


def test_feedback_codes_survive_index_key_rotation_and_old_codes_move_to_their_own_key(app, make):
    from msc.centres.models import Centre
    from msc.feedback import service as feedback
    from msc.feedback.models import Feedback

    make.centre()
    with app.app_context():
        centre = session.scalar(sa.select(Centre))
        sent = feedback.submit(centre, channel="self_service", kind="suggestion", text="Más sillas.")
        old_style = feedback.submit(centre, channel="self_service", kind="question", text="¿Horario?")
        # a code given out before codes had a key of their own: hashed under the first index key
        legacy = legacy_reference_hashes(old_style.code)[0]
        old_style.item.reference_hash, old_style.item.reference_legacy = legacy, True
        session.commit()
        keys.run_to_end(SYSTEM, keys.start(SYSTEM, rotation.INDEX).kind)
        assert feedback.lookup(old_style.shown_code) == feedback.Status("received", None)
        moved = session.get(Feedback, old_style.item.id)
        assert moved.reference_legacy is False and moved.reference_hash != legacy
        keys.retire(SYSTEM, rotation.INDEX, FIRST_INDEX_KEY)
        assert FIRST_INDEX_KEY not in keyring().index_keys
        assert feedback.lookup(sent.shown_code) == feedback.Status("received", None)
        assert feedback.lookup(old_style.shown_code) == feedback.Status("received", None)


def test_index_rotation_from_the_command_line(app, make):
    _people(make)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["index", "rotate"])
    assert result.exit_code == 0, result.output
    assert "done: 3 of 3 people" in result.output and "the entries of idx-0 are gone" in result.output
    result = runner.invoke(args=["index", "rotate"])  # nothing under way: a further rotation starts
    assert result.exit_code == 0, result.output
    with app.app_context():
        gens = list(
            session.scalars(
                sa.select(rotation.KeyRotation)
                .where(rotation.KeyRotation.kind == rotation.INDEX)
                .order_by(rotation.KeyRotation.generation)
            )
        )
        assert [g.state for g in gens] == [GenerationState.RETIRED, GenerationState.RETIRED, GenerationState.ACTIVE]
        assert _all_found() == QUERIES
        middle = gens[1].key_id
    assert runner.invoke(args=["index", "retire", gens[2].key_id]).exit_code != 0  # in use
    assert runner.invoke(args=["index", "retire", middle]).exit_code == 0
    assert runner.invoke(args=["index", "retire", FIRST_INDEX_KEY]).exit_code == 0
    with app.app_context():
        assert list(keyring().index_keys) == [gens[2].key_id]
        assert _all_found() == QUERIES


def test_two_tabs_stepping_at_once_do_each_batch_once(app, make, monkeypatch):
    """The page open twice (or the page and the command line): real parallel connections."""
    import threading

    _people(make)
    for i in range(5):
        make.person(given_names=f"Persona{i}", family_names="Paralela", date_of_birth=dt.date(1980, 1, 1 + i))
    monkeypatch.setattr(keys, "PEOPLE_BATCH", 2)
    with app.app_context():
        job_id = keys.start(SYSTEM, rotation.INDEX).id
    barrier = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []

    def tab():
        with app.app_context():
            barrier.wait()
            try:
                for _ in range(20):
                    job = keys.step(SYSTEM, rotation.INDEX, seconds=0)
                    if keys.phase(job) == "done":
                        return
            except keys.KeysError:
                session.rollback()  # the other tab finished it: "There is no rotation to continue."
            except BaseException as err:  # noqa: BLE001 - collected for the assertion below
                errors.append(err)

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with app.app_context():
        job = session.get(rotation.KeyRotation, job_id)
        assert keys.phase(job) == "done" and job.done == 8
        assert set(_generations()) == {job.generation}
        assert _all_found() == QUERIES and _first("paralela persona3") == "Persona3 Paralela"


def test_searches_read_the_generation_once_per_transaction(ctx, make):
    """A registration searches up to five times: the generation they read is read once in a transaction,
    and read again in the next one (a switch to another generation commits)."""
    make.person(given_names="Ana", family_names="Rojas")
    with statements_run(session.get_bind()) as seen:

        def asked() -> int:
            return sum("FROM key_rotations" in s for s in seen)

        session.commit()
        first = rotation.searched_generation()
        assert rotation.searched_generation() is first and asked() == 1
        assert search.search(SYSTEM, "Ana Rojas").hits and asked() == 1
        row = session.scalar(sa.select(rotation.KeyRotation).where(rotation.KeyRotation.kind == rotation.INDEX))
        row.layout = 1
        session.commit()
        assert rotation.searched_generation().layout == 1 and asked() == 3  # the row above, then once again
