"""The audit chain under concurrent writers: records join it at the end of their transaction, so a request
holds the chain's writer lock only from its append to its COMMIT. Real parallel connections (PostgreSQL
when MSC_TEST_DATABASE_URL is set, else SQLite in WAL mode)."""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from msc.db import READ_MOSTLY, session
from msc.security import audit
from msc.security.models import AuditEvent

WAIT = 20  # seconds a thread may wait for another before the test fails


def _chain(app) -> list[tuple[int, str, str | None]]:
    stmt = sa.select(AuditEvent.seq, AuditEvent.action, AuditEvent.detail).order_by(AuditEvent.seq)
    with app.app_context():
        return [(r.seq, r.action, r.detail) for r in session.execute(stmt)]


def _verified(app) -> audit.VerifyResult:
    with app.app_context():
        return audit.verify()


def test_the_chain_stays_gapless_under_concurrent_writers(app):
    """Six writers, each committing ten transactions of one to three records as fast as it can (half of
    them read-mostly: on SQLite they take the write lock only at their append)."""
    writers, rounds = 6, 10
    barrier = threading.Barrier(writers, timeout=WAIT)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for i in range(rounds):
                    if n % 2:
                        session.connection(execution_options={READ_MOSTLY: True})
                    for k in range(1 + (n + i) % 3):
                        audit.record("test.concurrent", detail=f"{n}:{i}:{k}")
                    session.commit()
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    chain = _chain(app)
    expected = sum(1 + (n + i) % 3 for n in range(writers) for i in range(rounds))
    assert [seq for seq, _, _ in chain] == list(range(1, expected + 1))
    assert len({detail for _, _, detail in chain}) == expected  # every record once
    result = _verified(app)
    assert result.ok and result.checked == expected, result.problems


def test_a_rolled_back_transaction_leaves_no_record(app):
    with app.app_context():
        audit.record("test.kept_before")
        session.commit()
        audit.record("test.rolled_back")
        session.rollback()
        audit.record("test.kept")
        with session.begin_nested():
            audit.record("test.in_kept_savepoint")
        savepoint = session.begin_nested()
        audit.record("test.in_rolled_back_savepoint")
        savepoint.rollback()
        session.commit()
    assert [(seq, action) for seq, action, _ in _chain(app)] == [
        (1, "test.kept_before"),
        (2, "test.kept"),
        (3, "test.in_kept_savepoint"),
    ]
    assert _verified(app).ok


def test_a_record_is_read_back_in_its_own_transaction(app):
    """A query of the log sees what the transaction recorded (it joins the chain first), as before."""
    with app.app_context():
        ev = audit.record("test.counted")
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1
        assert ev.seq == 1
        session.rollback()
    assert _chain(app) == []


def test_a_query_reading_the_log_in_a_subquery_appends_first_each_time_it_is_asked(app):
    """Whether a statement reads the log is remembered by its shape: asked again, with other values, the
    answer is the same — a query of other tables leaves the records waiting, one that reads the log
    anywhere (here in a subquery) appends them first."""
    from msc.security.models import User

    def reads_the_log(user_id: int):
        return (
            sa.select(sa.func.count())
            .select_from(User)
            .where(User.id == user_id, User.id.in_(sa.select(AuditEvent.user_id)))
        )

    with app.app_context():
        for round_ in range(3):
            ev = audit.record("test.counted")
            session.scalar(sa.select(sa.func.count()).select_from(User).where(User.id == round_))
            assert ev.seq is None, "a query of other tables does not append"
            session.scalar(reads_the_log(round_))
            assert ev.seq == round_ + 1, "reading the log in a subquery appends first"
            session.commit()
    assert len(_chain(app)) == 3


def _while_one_waits(app, first, second, patience: float = 10) -> tuple[bool, list[BaseException]]:
    """Run `first` on one connection up to the point it waits (its records made, not committed), then
    `second` on another: says whether `second` finished while `first` was still waiting."""
    paused, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            first(paused, release)
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            errors.append(err)
            paused.set()

    def quick() -> None:
        try:
            with app.app_context():
                second()
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            errors.append(err)

    a = threading.Thread(target=slow)
    a.start()
    assert paused.wait(WAIT)
    b = threading.Thread(target=quick)
    b.start()
    b.join(patience)
    finished = not b.is_alive()
    release.set()
    a.join(WAIT)
    b.join(WAIT)
    return finished, errors


def _another_desk_writes() -> None:
    audit.record("test.quick")
    session.commit()


@pytest.mark.parametrize("read_mostly", [True, False], ids=["read-mostly", "writing"])
def test_a_transaction_between_its_record_and_its_commit_does_not_hold_the_chain(app, read_mostly):
    """While one transaction has made its record and goes on working (a page rendering), another
    appends and commits; the first then joins the chain after it."""

    def slow(paused, release):
        with app.app_context():
            if read_mostly:
                session.connection(execution_options={READ_MOSTLY: True})
            audit.record("test.slow")
            paused.set()
            assert release.wait(WAIT)
            session.commit()

    if not read_mostly and app.extensions["msc.engine"].dialect.name == "sqlite":
        pytest.skip("on SQLite a writing transaction holds the database's write lock from its start")
    finished, errors = _while_one_waits(app, slow, _another_desk_writes)
    assert not errors, errors
    assert finished, "the second desk waited for the first one's commit"
    assert [(seq, action) for seq, action, _ in _chain(app)] == [(1, "test.quick"), (2, "test.slow")]
    assert _verified(app).ok


def test_a_profile_rendering_slowly_does_not_hold_the_chain(app, make, auth, client, monkeypatch):
    """A real request: the profile has made its audit record and renders slowly; meanwhile another
    desk appends and commits (on SQLite too: the profile reads without the write lock)."""
    from msc.beneficiaries import views

    make.user("clerk", "reception")
    uid = make.person(given_names="Ana", family_names="Rojas")
    auth.login("clerk")
    before = len(_chain(app))
    render = views.render_template

    def slow(paused, release):
        def rendering(*args, **kwargs):
            paused.set()
            assert release.wait(WAIT)
            return render(*args, **kwargs)

        monkeypatch.setattr(views, "render_template", rendering)
        assert client.get(f"/b/{uid}").status_code == 200

    finished, errors = _while_one_waits(app, slow, _another_desk_writes)
    assert not errors, errors
    assert finished, "the second desk waited for the profile's commit"
    actions = [action for _, action, _ in _chain(app)[before:]]
    assert actions == ["test.quick", "beneficiary.view"]
    assert _verified(app).ok


def test_an_edit_under_way_does_not_hold_the_chain_nor_another_edit(app, make):
    """On PostgreSQL a desk saving an edit (its audit record made, its index entries written) holds no
    lock another desk's edit or audit record waits for: only the index's generations, shared."""
    from msc.beneficiaries import service
    from msc.beneficiaries.models import Beneficiary
    from msc.security.actor import SYSTEM

    if app.extensions["msc.engine"].dialect.name == "sqlite":
        pytest.skip("on SQLite a writing transaction holds the database's write lock from its start")
    # two people who are not a possible duplicate of each other (a pair's row is theirs to share)
    uids = [
        make.person(given_names="Ana", family_names="Rojas"),
        make.person(given_names="Eva", family_names="Montes", date_of_birth=dt.date(1971, 2, 3)),
    ]

    def rename(uid: str, given_names: str) -> None:
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        data = service.PersonData(
            given_names=given_names,
            family_names=person.family_names,
            sex=person.sex,
            nationality=person.nationality,
            date_of_birth=person.date_of_birth,
        )
        service.update(SYSTEM, person, data)

    def slow(paused, release):
        with app.app_context():
            rename(uids[0], "Ana Lucia")
            paused.set()
            assert release.wait(WAIT)
            session.commit()

    def quick():
        rename(uids[1], "Eva Maria")
        session.commit()

    before = len(_chain(app))
    finished, errors = _while_one_waits(app, slow, quick)
    assert not errors, errors
    assert finished, "the second edit waited for the first one's commit"
    assert [action for _, action, _ in _chain(app)[before:]] == ["beneficiary.update", "beneficiary.update"]
    assert _verified(app).ok


def test_two_desks_editing_both_people_of_a_possible_duplicate_at_once_both_save(app, make):
    """The pair's row is shared: the second edit waits for the first one's commit, then saves; neither fails
    because the other updated or removed the pair first."""
    from msc.beneficiaries import service
    from msc.beneficiaries.models import Beneficiary, DuplicateCandidate
    from msc.security.actor import SYSTEM

    if app.extensions["msc.engine"].dialect.name == "sqlite":
        pytest.skip("on SQLite a writing transaction holds the database's write lock from its start")
    uids = [make.person(given_names=name, family_names="Rojas", acknowledge=True) for name in ("Ana", "Ana")]

    def edit(uid: str, phone: str) -> None:
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        data = service.PersonData(
            given_names="Ana",
            family_names="Rojas",
            sex=person.sex,
            nationality=person.nationality,
            date_of_birth=person.date_of_birth,
            phone=phone,
        )
        service.update(SYSTEM, person, data)

    def slow(paused, release):
        with app.app_context():
            edit(uids[0], "+57 300 111 2233")
            paused.set()
            assert release.wait(WAIT)
            session.commit()

    def quick():
        edit(uids[1], "+57 300 444 5566")
        session.commit()

    _finished, errors = _while_one_waits(app, slow, quick, patience=1)
    assert not errors, errors
    with app.app_context():
        phones = [session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid)).phone for uid in uids]
        assert [p.replace(" ", "")[-4:] for p in phones] == ["2233", "5566"]
        assert session.scalar(sa.select(sa.func.count()).select_from(DuplicateCandidate)) <= 1
