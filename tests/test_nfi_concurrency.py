"""Two desks give out the last kit at the same moment: one hand-over, one refusal in words, stock
zero, the ledger consistent. Real parallel connections (PostgreSQL when MSC_TEST_DATABASE_URL is set)."""

import threading

import sqlalchemy as sa

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.db import session
from msc.nfi import service, stock
from msc.nfi.models import Distribution, StockMovement
from msc.nfi.stock import NfiError
from msc.security.models import User


def _race(app, jobs) -> list[str]:
    """Run each job in its own thread and app context, all released at once; collect the outcomes."""
    barrier = threading.Barrier(len(jobs), timeout=20)
    outcomes: list[str] = []

    def run(job):
        with app.app_context():
            args = job()
            session.rollback()  # each desk has read what it needs; no transaction is open yet
            barrier.wait()
            try:
                args()
                session.commit()
                outcomes.append("ok")
            except NfiError as err:
                session.rollback()
                outcomes.append(f"refused: {err.message}")

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def _setup(app, make, stock_quantity: int):
    clerks = [make.user(f"desk{i}", "reception") for i in range(2)]
    boss = make.user("boss", "centre_manager")
    people = [make.person(given_names=name, family_names="Rojas") for name in ("Ana", "Eva")]
    with app.app_context():
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        hyg = service.item_by_code("HYG")
        stock.receive(
            session.get(User, boss),
            centre,
            reference="GR-LAST",
            source="warehouse",
            received_on=stock.centre_day(centre),
            lines={hyg.id: stock_quantity},
        )
        session.commit()
        return clerks, people, centre.id, hyg.id


def _give(clerk_id: int, person_uid: str):
    def prepare():
        user = session.get(User, clerk_id)
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == person_uid))
        centre = person.centre
        return lambda: service.hand_over(
            user, centre, person, {f"{person_uid}:HYG": 1}, service.Acknowledgement(method="thumbprint")
        )

    return prepare


def test_two_desks_take_the_last_kit_one_wins(app, make):
    clerks, people, centre_id, item_id = _setup(app, make, 1)
    outcomes = _race(app, [_give(clerks[0], people[0]), _give(clerks[1], people[1])])
    assert sorted(o[:7] for o in outcomes) == ["ok", "refused"], outcomes
    refusal = next(o for o in outcomes if o.startswith("refused"))
    assert refusal == "refused: Not enough Hygiene kit in stock: 0 left, 1 asked for."
    with app.app_context():
        assert stock.on_hand(centre_id, item_id) == 0
        assert stock.mismatches() == []
        assert session.scalar(sa.select(sa.func.count()).select_from(Distribution)) == 1
        kinds = session.scalars(sa.select(StockMovement.kind).order_by(StockMovement.id)).all()
        assert kinds == ["receipt", "distribution"]


def test_two_desks_serve_the_same_person_at_once_one_is_told(app, make):
    """Enough stock, but one hygiene kit a month: the second desk reads the first desk's hand-over."""
    clerks, people, centre_id, item_id = _setup(app, make, 5)
    outcomes = _race(app, [_give(clerks[0], people[0]), _give(clerks[1], people[0])])
    assert sorted(o[:7] for o in outcomes) == ["ok", "refused"], outcomes
    assert "cannot be given today" in next(o for o in outcomes if o.startswith("refused"))
    with app.app_context():
        assert stock.on_hand(centre_id, item_id) == 4 and stock.mismatches() == []
