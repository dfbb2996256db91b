"""NFI rules: target groups, quantities per period, intervals, daily maximum, household vs individual,
override, void; the stock ledger's identities and every refusal in words."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.db import session
from msc.nfi import reports, rules, service, stock
from msc.nfi.models import Distribution, DistributionLine, StockMovement
from msc.nfi.stock import NfiError
from msc.security.models import AuditEvent, User

THUMB = service.Acknowledgement(method="thumbprint")


def years_ago(n: int, days: int = 0) -> dt.date:
    today = clock.today("COL")  # the desk's day in Cúcuta, not UTC's
    return today.replace(year=today.year - n) - dt.timedelta(days=days)


def person(make, **kw) -> Beneficiary:
    dob = kw.get("date_of_birth")
    if dob and dob > years_ago(18):
        kw.setdefault("given_by", "guardian")
        kw.setdefault("guardian_name", "Carmen Rojas")
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == make.person(**kw)))


def centre(code="COL-CUC") -> Centre:
    return session.scalar(sa.select(Centre).where(Centre.code == code))


def item(code):
    return service.item_by_code(code)


def stocked(make, quantities: dict[str, int], code="COL-CUC", ref="GR-001"):
    make.centre(code, f"CAM {code}", code[:3])
    boss = session.get(User, make.user(f"boss-{ref}", "centre_manager", centres=(code,)))
    stock.receive(
        boss,
        centre(code),
        reference=ref,
        source="warehouse",
        received_on=stock.centre_day(centre(code)),
        lines={item(c).id: q for c, q in quantities.items()},
    )
    return boss


def verdicts(p: Beneficiary) -> dict[str, rules.Verdict]:
    return {v.key: v for v in rules.desk_view(p, stock.active_items(), stock.centre_day(p.centre)).all()}


def backdate(distribution: Distribution, days: int) -> None:
    day = distribution.day - dt.timedelta(days=days)
    session.execute(
        sa.update(DistributionLine)
        .where(DistributionLine.distribution_id == distribution.id)
        .values(day=day, month=day.strftime("%Y-%m"))
    )
    session.execute(sa.update(Distribution).where(Distribution.id == distribution.id).values(day=day))


# ---- target groups --------------------------------------------------------------------------


def test_dignity_kit_is_for_women_and_girls_12_to_49(ctx, make):
    woman = person(make, given_names="Ana", family_names="Rojas", sex="female", date_of_birth=years_ago(30))
    man = person(make, given_names="Luis", family_names="Mora", sex="male", date_of_birth=years_ago(30))
    girl = person(make, given_names="Sofía", family_names="Paz", sex="female", date_of_birth=years_ago(11))
    older = person(make, given_names="Rosa", family_names="Vera", sex="female", date_of_birth=years_ago(50))
    twelve = person(make, given_names="Lía", family_names="Sol", sex="female", date_of_birth=years_ago(12))
    assert verdicts(woman)[f"{woman.uid}:DIG"].allowed == 1
    assert verdicts(twelve)[f"{twelve.uid}:DIG"].entitled  # 12 today: inclusive
    for p in (man, girl, older):
        v = verdicts(p)[f"{p.uid}:DIG"]
        assert not v.entitled and not v.in_group
        assert v.reasons == ["Only for women and girls aged 12 to 49."]
    assert verdicts(man)[f"{man.uid}:HYG"].entitled  # everyone gets hygiene


def test_unknown_age_is_explained(ctx, make):
    p = person(make, given_names="Ana", family_names="Rojas")
    p.date_of_birth, p.birth_year = None, None  # as after a record's date of birth is removed
    v = verdicts(p)[f"{p.uid}:DIG"]
    assert not v.entitled and "date of birth is not recorded" in v.reasons[0]


def test_baby_kit_is_per_household_with_a_child_under_two(ctx, make):
    boss = stocked(make, {"BABY": 5, "HYG": 5})
    mother = person(make, given_names="Ana", family_names="Rojas", date_of_birth=years_ago(25))
    baby_uid = make.person(
        given_names="Mía",
        family_names="Rojas",
        date_of_birth=years_ago(1),
        given_by="guardian",
        guardian_name="Ana Rojas",
        household=reception.HouseholdChoice(join_case_number=mother.case_number, relationship="child"),
    )
    baby = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == baby_uid))
    single = person(make, given_names="Eva", family_names="Luna", date_of_birth=years_ago(40))
    v = verdicts(mother)["household:BABY"]
    assert v.entitled and v.household
    lone = verdicts(single)["household:BABY"]
    assert not lone.entitled and lone.reasons == [
        "Only for households with children under 2 years old; nobody in this household is."
    ]
    # The mother sees her baby's own rows (nappies), and the household's kit once.
    view = rules.desk_view(mother, stock.active_items(), stock.centre_day(mother.centre))
    assert [m.uid for m, _ in view.others] == [baby.uid]
    assert {v.item.code for v in view.others[0][1]} >= {"HYG", "DIAP"}
    service.hand_over(boss, centre(), mother, {"household:BABY": 1}, THUMB)
    # Counted per household: the baby's record sees the household's kit as received.
    again = verdicts(baby)["household:BABY"]
    assert not again.entitled and "already received today" in again.reasons[0]


# ---- quantities, intervals, daily maximum ------------------------------------------------------


def test_interval_is_explained_with_the_next_day(ctx, make):
    boss = stocked(make, {"HYG": 5})
    p = person(make, given_names="Ana", family_names="Rojas")
    given = service.hand_over(boss, centre(), p, {f"{p.uid}:HYG": 1}, THUMB)
    backdate(given, 12)
    v = verdicts(p)[f"{p.uid}:HYG"]
    today = stock.centre_day(centre())
    assert not v.entitled and v.next_on == today + dt.timedelta(days=18)
    assert v.reasons[0].startswith("Hygiene kit received 12 days ago; next from ")
    backdate(given, 18)  # 30 days ago now
    assert verdicts(p)[f"{p.uid}:HYG"].allowed == 1


def test_quantity_per_period_with_interval_and_daily_maximum(ctx, make):
    """Nappies: 4 packs per 30 days, at least 7 days apart, at most 1 a day."""
    boss = stocked(make, {"DIAP": 20})
    baby = person(make, given_names="Mía", family_names="Rojas", date_of_birth=years_ago(1))
    key = f"{baby.uid}:DIAP"
    assert verdicts(baby)[key].allowed == 1  # the daily maximum caps the 4
    with pytest.raises(service.HandOverRefused) as err:
        service.hand_over(session.get(User, make.user("clerk", "reception")), centre(), baby, {key: 2}, THUMB)
    assert err.value.rows[key] == "At most 1 may be given today."
    for days_ago in (21, 14, 7):
        backdate(service.hand_over(boss, centre(), baby, {key: 1}, THUMB), days_ago)
    assert verdicts(baby)[key].allowed == 1  # 3 of 4 used, 7 days since the last
    service.hand_over(boss, centre(), baby, {key: 1}, THUMB)
    v = verdicts(baby)[key]
    assert not v.entitled
    # Three rules hold (period, interval, one a day); the one that holds longest is given.
    assert len(v.reasons) == 1 and v.reasons[0].startswith("Already received 4 in the last 30 days (at most 4)")
    # The period frees its first pack 30 days after it was given (21 days ago): in 9 days.
    assert v.next_on == stock.centre_day(centre()) + dt.timedelta(days=9)


def test_evaluate_explains_the_period_in_one_function(ctx, make):
    p = person(make, given_names="Ana", family_names="Rojas")
    today = dt.date(2026, 3, 14)
    hyg = item("HYG")
    got = rules.evaluate(hyg, p, [p], [rules.Received(hyg.id, p.id, None, dt.date(2026, 3, 2), 1)], today)
    assert got.allowed == 0 and got.next_on == dt.date(2026, 4, 1)
    assert got.reasons[0].startswith("Hygiene kit received 12 days ago")
    fresh = rules.evaluate(hyg, p, [p], [rules.Received(hyg.id, p.id, None, dt.date(2026, 2, 1), 1)], today)
    assert fresh.allowed == 1 and fresh.reasons[0] == "May receive 1 today."


# ---- hand-overs ---------------------------------------------------------------------------


def test_hand_over_several_items_then_refused_the_same_day(ctx, make):
    stocked(make, {"HYG": 10, "DIG": 10})
    clerk = session.get(User, make.user("clerk", "reception"))
    ana = person(make, given_names="Ana", family_names="Rojas", date_of_birth=years_ago(30))
    d = service.hand_over(
        clerk,
        centre(),
        ana,
        {f"{ana.uid}:HYG": 1, f"{ana.uid}:DIG": 1},
        service.Acknowledgement(method="signature", signature="M 1 2 L 30 40"),
    )
    assert sorted((line.item.code, line.quantity, line.sex, line.age_band) for line in d.lines) == [
        ("DIG", 1, "female", "18-59"),
        ("HYG", 1, "female", "18-59"),
    ]
    assert d.signature == "M 1 2 L 30 40" and b"M 1 2" not in d.signature_ct
    assert stock.on_hand(centre().id, item("HYG").id) == 9
    with pytest.raises(service.HandOverRefused) as err:
        service.hand_over(clerk, centre(), ana, {f"{ana.uid}:HYG": 1}, THUMB)
    assert "Hygiene kit already received today; next from" in err.value.rows[f"{ana.uid}:HYG"]
    assert "cannot be given today" in err.value.message
    session.commit()
    assert stock.on_hand(centre().id, item("HYG").id) == 9  # nothing was taken by the refusal


def test_override_needs_the_permission_and_a_written_justification(ctx, make):
    boss = stocked(make, {"HYG": 10})
    ana = person(make, given_names="Ana", family_names="Rojas")
    caseworker = session.get(User, make.user("cw", "caseworker"))
    service.hand_over(boss, centre(), ana, {f"{ana.uid}:HYG": 1}, THUMB)
    key = {f"{ana.uid}:HYG": 1}
    with pytest.raises(service.HandOverRefused) as err:
        service.hand_over(caseworker, centre(), ana, key, THUMB, justification="Lo perdió en el río")
    assert "cannot be given today" in err.value.message
    with pytest.raises(service.HandOverRefused) as err:
        service.hand_over(boss, centre(), ana, key, THUMB, justification="  ")
    assert "write why" in err.value.message
    d = service.hand_over(boss, centre(), ana, key, THUMB, justification="Lo perdió al cruzar el río.")
    assert d.overridden and d.justification.startswith("Lo perdió") and b"perdi" not in d.justification_ct
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "nfi_distribution", AuditEvent.object_id == str(d.id))
    ).all()[-1]
    assert event.action == "nfi.hand_over.override"


def test_no_stock_is_refused_in_words(ctx, make):
    stocked(make, {"DIG": 1})
    clerk = session.get(User, make.user("clerk", "reception"))
    ana = person(make, given_names="Ana", family_names="Rojas")
    with pytest.raises(service.HandOverRefused) as err:
        service.hand_over(clerk, centre(), ana, {f"{ana.uid}:HYG": 1, f"{ana.uid}:DIG": 1}, THUMB)
    assert err.value.message == "Not enough Hygiene kit in stock: 0 left, 1 asked for."
    assert stock.on_hand(centre().id, item("DIG").id) == 1  # the dignity kit went back with the savepoint
    assert session.scalar(sa.select(sa.func.count()).select_from(Distribution)) == 0


@pytest.mark.parametrize(
    "ack,field",
    [
        (service.Acknowledgement(method="signature", signature=""), "ack_method"),
        (service.Acknowledgement(method="signature", signature="<script>"), "ack_method"),
        (service.Acknowledgement(method="witness", witness_name=" "), "witness_name"),
        (service.Acknowledgement(method="telepathy"), "ack_method"),
        (service.Acknowledgement(collected_by="collector", method="thumbprint"), "collector_name"),
        (service.Acknowledgement(collected_by="someone", method="thumbprint"), "collected_by"),
    ],
)
def test_acknowledgement_is_required(ctx, make, ack, field):
    stocked(make, {"HYG": 1})
    clerk = session.get(User, make.user("clerk", "reception"))
    ana = person(make, given_names="Ana", family_names="Rojas")
    with pytest.raises(NfiError) as err:
        service.hand_over(clerk, centre(), ana, {f"{ana.uid}:HYG": 1}, ack)
    assert err.value.field == field and err.value.message


def test_a_named_collector_is_encrypted(ctx, make):
    boss = stocked(make, {"HYG": 1})
    ana = person(make, given_names="Ana", family_names="Rojas")
    d = service.hand_over(
        boss,
        centre(),
        ana,
        {f"{ana.uid}:HYG": 1},
        service.Acknowledgement(
            collected_by="collector", collector_name="Marta Peña", method="witness", witness_name="Julio Díaz"
        ),
    )
    assert d.collector_name == "Marta Peña" and b"Marta" not in d.collector_name_ct
    assert d.witness_name == "Julio Díaz" and b"Julio" not in d.witness_name_ct


# ---- voids ---------------------------------------------------------------------------------


def test_void_puts_stock_back_and_restores_the_entitlement(ctx, make):
    stocked(make, {"HYG": 3})
    clerk = session.get(User, make.user("clerk", "reception"))
    other = session.get(User, make.user("other", "reception"))
    boss = session.get(User, make.user("jefa", "centre_manager"))
    ana = person(make, given_names="Ana", family_names="Rojas")
    d = service.hand_over(clerk, centre(), ana, {f"{ana.uid}:HYG": 1}, THUMB)
    assert stock.on_hand(centre().id, item("HYG").id) == 2
    assert not service.may_void(other, d)
    with pytest.raises(NfiError, match="Only a centre manager"):
        service.void(other, d, "wrong_person")
    with pytest.raises(NfiError) as err:
        service.void(clerk, d, "other", " ")
    assert err.value.field == "note"
    service.void(clerk, d, "wrong_person")
    assert d.voided_at is not None and d.void_reason == "wrong_person"
    assert stock.on_hand(centre().id, item("HYG").id) == 3
    assert all(line.voided for line in d.lines)
    assert verdicts(ana)[f"{ana.uid}:HYG"].entitled
    with pytest.raises(NfiError, match="already voided"):
        service.void(boss, d, "other", "dos veces")
    kinds = session.scalars(sa.select(StockMovement.kind).order_by(StockMovement.id)).all()
    assert kinds == ["receipt", "distribution", "void"]
    # A manager may void another day's hand-over; the clerk may not.
    d2 = service.hand_over(clerk, centre(), ana, {f"{ana.uid}:HYG": 1}, THUMB)
    backdate(d2, 1)
    session.refresh(d2)
    assert not service.may_void(clerk, d2) and service.may_void(boss, d2)
    service.void(boss, d2, "recorded_in_error", "Era otra persona")
    assert d2.void_note == "Era otra persona"


# ---- the ledger ----------------------------------------------------------------------------


def test_the_ledger_adds_up_after_every_kind_of_movement(ctx, make):
    boss = stocked(make, {"HYG": 20, "BLK": 5})
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    tumbes = centre("PER-TUM")
    boss_region = session.get(User, make.user("region", "centre_manager", scope="region"))
    ana = person(make, given_names="Ana", family_names="Rojas")
    hyg, blk = item("HYG"), item("BLK")
    service.hand_over(boss, centre(), ana, {f"{ana.uid}:HYG": 1, f"{ana.uid}:BLK": 1}, THUMB)
    op = stock.transfer(boss_region, centre(), tumbes, {hyg.id: 7})
    stock.adjust(boss, centre(), hyg, reason="damage", direction="remove", quantity=2)
    stock.adjust(boss, centre(), blk, reason="found", direction="add", quantity=3)
    sheet = stock.count(boss, centre(), {hyg.id: 9, blk.id: 7})
    assert sheet.differences == 1  # 20-1-7-2 = 10 expected, 9 counted; blankets 5-1+3 = 7 as counted
    sides = session.execute(
        sa.select(StockMovement.centre_id, StockMovement.delta)
        .where(StockMovement.transfer_id == op.id)
        .order_by(StockMovement.id)
    ).all()
    assert sides == [(centre().id, -7), (tumbes.id, 7)]
    by_kind = dict(
        session.execute(
            sa.select(StockMovement.kind, sa.func.sum(StockMovement.delta))
            .where(StockMovement.centre_id == centre().id, StockMovement.item_id == hyg.id)
            .group_by(StockMovement.kind)
        ).all()
    )
    # on hand = receipts + transfers in − hand-overs − transfers out ± adjustments
    assert (
        stock.on_hand(centre().id, hyg.id)
        == 9
        == (
            by_kind["receipt"]
            + by_kind.get("transfer_in", 0)
            + by_kind["distribution"]
            + by_kind["transfer_out"]
            + by_kind["adjustment"]
        )
    )
    assert stock.on_hand(tumbes.id, hyg.id) == 7
    assert stock.mismatches() == []
    assert stock.ledger_sums(centre().id) == {hyg.id: 9, blk.id: 7}


def test_stock_refusals_say_why(ctx, make):
    boss = stocked(make, {"HYG": 2})
    hyg = item("HYG")
    with pytest.raises(NfiError) as err:
        stock.receive(
            boss,
            centre(),
            reference=" gr-001 ",
            source="warehouse",
            received_on=stock.centre_day(centre()),
            lines={hyg.id: 1},
        )
    assert "GR-001 was already received" in err.value.message and err.value.field == "reference"
    with pytest.raises(NfiError, match="another centre"):
        stock.transfer(boss, centre(), centre(), {hyg.id: 1})
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    with pytest.raises(NfiError, match="Not enough Hygiene kit in stock: 2 left, 3 asked for"):
        stock.transfer(boss, centre(), centre("PER-TUM"), {hyg.id: 3})
    with pytest.raises(NfiError, match="Choose one of your centres"):
        stock.transfer(boss, centre("PER-TUM"), centre(), {hyg.id: 1})
    with pytest.raises(NfiError, match="removes units"):
        stock.adjust(boss, centre(), hyg, reason="loss", direction="add", quantity=1)
    with pytest.raises(NfiError, match="Not enough"):
        stock.adjust(boss, centre(), hyg, reason="loss", direction="remove", quantity=5)
    with pytest.raises(NfiError, match="at least one item"):
        stock.receive(
            boss,
            centre(),
            reference="GR-2",
            source="warehouse",
            received_on=stock.centre_day(centre()),
            lines={hyg.id: 0},
        )
    with pytest.raises(NfiError) as err:
        stock.receive(
            boss,
            centre(),
            reference="GR-2",
            source="warehouse",
            received_on=stock.centre_day(centre()) + dt.timedelta(days=1),
            lines={hyg.id: 1},
        )
    assert err.value.field == "received_on"
    session.commit()
    assert stock.on_hand(centre().id, hyg.id) == 2 and stock.mismatches() == []


@pytest.mark.parametrize("raw,expected", [("3", 3), (" 2 ", 2), ("2.0", 2), ("2,00", 2), ("+4", 4)])
def test_quantities_are_whole_numbers(ctx, raw, expected):
    assert stock.parse_quantity(raw) == expected


@pytest.mark.parametrize(
    "raw,message",
    [
        ("0", "at least 1"),
        ("-1", "cannot be negative"),
        ("2.5", "whole units"),
        ("1,5", "whole units"),
        ("tres", "number of units"),
        ("", "Give the quantity"),
        ("9" * 9, "too large"),
        ("1e3", "number of units"),
    ],
)
def test_bad_quantities_are_refused_in_words(ctx, raw, message):
    with pytest.raises(NfiError, match=message):
        stock.parse_quantity(raw)


def test_low_stock_threshold(ctx, make):
    boss = stocked(make, {"HYG": 10, "BLK": 3, "DIG": 14})
    stock.set_thresholds(boss, centre(), {item("HYG").id: 10, item("BLK").id: 5, item("DIG").id: 10})
    status = {lv.item.code: lv.status for lv in stock.levels(centre().id)}
    assert status["HYG"] == "low" and status["BLK"] == "low" and status["DIG"] == "close" and status["KIT"] == "out"
    low = {lv.item.code for _c, lv in reports.low_stock([centre().id])}
    assert {"HYG", "BLK", "DIG"} <= low


# ---- reports -------------------------------------------------------------------------------


def test_distribution_report_counts_people_and_units_and_suppresses_small_cells(ctx, make):
    boss = stocked(make, {"HYG": 50, "DIG": 50})
    women = [
        person(make, given_names=f"Ana{i}", family_names="Rojas", date_of_birth=years_ago(30, i)) for i in range(6)
    ]
    girl = person(make, given_names="Sofía", family_names="Paz", date_of_birth=years_ago(14))
    given = [service.hand_over(boss, centre(), w, {f"{w.uid}:HYG": 1, f"{w.uid}:DIG": 1}, THUMB) for w in women]
    service.hand_over(boss, centre(), girl, {f"{girl.uid}:HYG": 1}, THUMB)
    service.void(boss, given[0], "wrong_person")
    today = stock.centre_day(centre())
    p = reports.period(boss, today.replace(day=1), today)
    rows = {(r.item, r.age_band): r for r in reports.distributions(p)}
    assert rows[("HYG", "18-59")].people == 5 and rows[("HYG", "18-59")].units == 5
    assert rows[("HYG", "18-59")].shown() == (
        "COL",
        "COL-CUC",
        today.strftime("%Y-%m"),
        "HYG",
        "female",
        "18-59",
        "VEN",
        5,
        5,
    )
    assert rows[("HYG", "12-17")].shown()[-2:] == ("<5", "<5")
    assert rows[("DIG", "18-59")].shown()[-2:] == (5, 5)
    st = {r.item: r for r in reports.stock(p)}
    assert (st["HYG"].received, st["HYG"].distributed, st["HYG"].closing) == (50, 6, 44)
    assert st["HYG"].opening + st["HYG"].received - st["HYG"].distributed == st["HYG"].closing


def test_the_check_command_finds_a_stock_that_does_not_add_up(app, make):
    with app.app_context():
        stocked(make, {"HYG": 4})
        session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["nfi", "check"])
    assert result.exit_code == 0 and "stock adds up" in result.output
    with app.app_context():
        from msc.nfi.models import StockLevel

        session.execute(sa.update(StockLevel).values(on_hand=StockLevel.on_hand + 1))  # a hand edit in the database
        session.commit()
    result = runner.invoke(args=["nfi", "check"])
    assert result.exit_code == 1 and "on hand 5, ledger 4" in result.output
