"""Any sequence of movements — receipts, hand-overs, voids, transfers, adjustments, counts — leaves the
stock on hand never negative and always equal to the sum of the ledger."""

import itertools

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.db import session
from msc.nfi import service, stock
from msc.nfi.models import Distribution, StockLevel
from msc.nfi.stock import NfiError
from msc.security.models import User

CODES = ("HYG", "BLK", "KIT")
quantity = st.integers(min_value=1, max_value=6)
move = st.one_of(
    st.tuples(st.just("receive"), st.integers(0, 1), st.sampled_from(CODES), quantity),
    st.tuples(st.just("give"), st.integers(0, 1), st.sampled_from(CODES), quantity),
    st.tuples(st.just("void"), st.integers(0, 1), st.sampled_from(CODES), quantity),
    st.tuples(st.just("transfer"), st.integers(0, 1), st.sampled_from(CODES), quantity),
    st.tuples(st.just("adjust"), st.integers(0, 1), st.sampled_from(CODES), quantity),
    st.tuples(st.just("count"), st.integers(0, 1), st.sampled_from(CODES), st.integers(0, 8)),
)
_refs = itertools.count()


def test_stock_never_negative_and_always_the_ledger_sum(app, make):
    boss_id = make.user("region", "centre_manager", scope="region")
    uids = [
        make.person(given_names="Ana", family_names="Rojas"),
        make.person(given_names="Eva", family_names="Quispe", centre="PER-TUM"),
    ]

    @settings(max_examples=40)
    @given(st.lists(move, min_size=1, max_size=12))
    def run(moves):
        with app.app_context():
            boss = session.get(User, boss_id)
            centres = [session.scalar(sa.select(Centre).where(Centre.code == c)) for c in ("COL-CUC", "PER-TUM")]
            people = [session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == u)) for u in uids]
            for kind, which, code, q in moves:
                centre, item = centres[which], service.item_by_code(code)
                try:
                    if kind == "receive":
                        stock.receive(
                            boss,
                            centre,
                            reference=f"P-{next(_refs)}",
                            source="supplier",
                            received_on=stock.centre_day(centre),
                            lines={item.id: q},
                        )
                    elif kind == "give":  # the manager overrides the rules: only stock can say no
                        person = people[which]
                        service.hand_over(
                            boss,
                            centre,
                            person,
                            {f"{person.uid}:{code}" if item.level == "individual" else f"household:{code}": q},
                            service.Acknowledgement(method="thumbprint"),
                            justification="Prueba",
                        )
                    elif kind == "void":
                        last = session.scalar(
                            sa.select(Distribution)
                            .where(Distribution.voided_at.is_(None))
                            .order_by(Distribution.id.desc())
                            .limit(1)
                        )
                        if last is not None:
                            service.void(boss, last, "recorded_in_error")
                    elif kind == "transfer":
                        stock.transfer(boss, centre, centres[1 - which], {item.id: q})
                    elif kind == "adjust":
                        stock.adjust(
                            boss,
                            centre,
                            item,
                            reason="damage" if q % 2 else "found",
                            direction="remove" if q % 2 else "add",
                            quantity=q,
                        )
                    else:
                        stock.count(boss, centre, {item.id: q})
                    session.commit()
                except NfiError:
                    session.rollback()
                levels = session.execute(sa.select(StockLevel.on_hand)).scalars().all()
                assert all(h >= 0 for h in levels)
                assert stock.mismatches() == []

    run()
