"""Random sequences of referral actions never reach an illegal state, and every move is kept."""

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from msc.db import session
from msc.referrals import service
from msc.referrals.models import Referral, ReferralEvent
from msc.referrals.vocab import STATUSES
from msc.security.models import User

ACTIONS = st.lists(
    st.sampled_from(["send", "cancel", "accepted", "declined", "completed", "no_show"]), min_size=1, max_size=8
)
ALLOWED = service.CASEWORKER_MOVES | service.PARTNER_MOVES


@given(actions=ACTIONS)
def test_random_transitions_stay_legal(app, make, actions):
    with app.app_context():
        session.execute(sa.delete(ReferralEvent))
        session.execute(sa.delete(Referral))
        session.commit()
    cw_id = _once(make, "cw", "caseworker")
    org_id, svc = _partner(make)
    partner_id = _once(make, "socio", "partner", organisation_id=org_id)
    from msc.beneficiaries import service as reception

    uid = make.person(
        given_names="Rosa",
        family_names="Peña",
        consents=[
            reception.ConsentData(purpose="registration", status="given"),
            reception.ConsentData(purpose="referral", status="given"),
        ],
    )
    with app.app_context():
        from msc.beneficiaries.models import Beneficiary
        from msc.cases import service as cases

        cw = session.get(User, cw_id)
        partner = session.get(User, partner_id)
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        case = cases.case_of(person) or cases.open_case(cw, person)
        referral = service.create(cw, case, svc, "routine", "Consulta", ["identity"])
        for action in actions:
            before = referral.status
            try:
                if action == "send":
                    service.send(cw, referral)
                elif action == "cancel":
                    service.cancel(cw, referral)
                else:
                    service.answer(partner, referral, action, "texto")
            except service.ReferralError:
                assert referral.status == before  # a refusal changes nothing
            else:
                assert (before, referral.status) in ALLOWED
            assert referral.status in STATUSES
        moves = session.execute(
            sa.select(ReferralEvent.from_status, ReferralEvent.to_status)
            .where(ReferralEvent.referral_id == referral.id)
            .order_by(ReferralEvent.id)
        ).all()
        for (_, to), (frm, _) in zip(moves, moves[1:]):
            assert frm == to  # the history is one unbroken chain
        assert moves[-1][1] == referral.status
        session.rollback()


_CACHE: dict = {}


def _once(make, username, role, organisation_id=None):
    key = (id(make.app), username)
    if key not in _CACHE:
        _CACHE[key] = make.user(username, role, centres=("COL-CUC",) if role != "partner" else ())
        if organisation_id:
            with make.app.app_context():
                session.get(User, _CACHE[key]).organisation_id = organisation_id
                session.commit()
    return _CACHE[key]


def _partner(make):
    key = (id(make.app), "partner")
    if key not in _CACHE:
        _CACHE[key] = make.partner()
    return _CACHE[key]
