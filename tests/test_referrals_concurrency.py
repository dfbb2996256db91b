"""Two partner users answer the same referral at the same moment: one wins, the other is told."""

import threading

import sqlalchemy as sa

from msc.db import session
from msc.referrals import service
from msc.referrals.models import Referral, ReferralEvent
from msc.security.models import User


def test_concurrent_answers_end_with_one_winner(app, make):
    cw = make.user("cw", "caseworker")
    org_id, svc = make.partner()
    partners = [make.user(f"socio{i}", "partner", centres=()) for i in range(2)]
    with app.app_context():
        for pid in partners:
            session.get(User, pid).organisation_id = org_id
        session.commit()
    uid = make.referral(cw, svc, given_names="Rosa", family_names="Peña")
    barrier = threading.Barrier(2, timeout=20)
    outcomes: list[str] = []

    def answer(partner_id: int, to: str) -> None:
        with app.app_context():
            user = session.get(User, partner_id)
            referral = session.scalar(sa.select(Referral).where(Referral.uid == uid))
            session.rollback()  # both hold the same view of the referral, and no lock
            barrier.wait()
            try:
                service.answer(user, referral, to, "Sin cupos" if to == "declined" else None)
                session.commit()
                outcomes.append(to)
            except service.ReferralError as err:
                session.rollback()
                outcomes.append(f"refused: {err.message}")

    threads = [
        threading.Thread(target=answer, args=(partners[0], "accepted")),
        threading.Thread(target=answer, args=(partners[1], "declined")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [o for o in outcomes if not o.startswith("refused")]
    losers = [o for o in outcomes if o.startswith("refused")]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert "Someone else changed this referral" in losers[0] or "cannot go from" in losers[0]
    with app.app_context():
        referral = session.scalar(sa.select(Referral).where(Referral.uid == uid))
        assert referral.status == winners[0]
        assert (referral.answer is not None) == (winners[0] == "declined")
        moves = session.scalars(
            sa.select(ReferralEvent.to_status)
            .where(ReferralEvent.referral_id == referral.id)
            .order_by(ReferralEvent.id)
        ).all()
        assert moves == ["draft", "sent", winners[0]]
