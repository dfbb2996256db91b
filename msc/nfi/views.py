"""NFI pages: the desk (scan, entitlements, hand-over, void), the centre's stock (receipts, transfers,
adjustments, counts, thresholds, ledger), reports and exports, and the catalogue."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from msc import clock
from msc.beneficiaries import search as search_service
from msc.beneficiaries.access import load_beneficiary
from msc.beneficiaries.forms import SearchForm
from msc.beneficiaries.vocab import country_name
from msc.centres.models import Centre
from msc.db import get_by_uid_or_404, get_or_404, session
from msc.errors import RuleError, show_on_form
from msc.exports import csv_response, xlsx_response
from msc.forms import form_status, rule_on_form
from msc.nfi import catalogue, reports, rules, service, stock, vocab
from msc.nfi.forms import (
    AdjustForm,
    HandOverForm,
    ItemForm,
    ReceiptForm,
    ReportForm,
    SheetForm,
    TransferForm,
    VoidForm,
)
from msc.nfi.models import Distribution, NfiItem
from msc.nfi.stock import NfiError
from msc.sections import Row, Section
from msc.security import audit
from msc.security.policy import Permission, active_centres_of, can, centres_in_scope, check_scope, requires, role_allows
from msc.urls import parse_id

bp = Blueprint("nfi", __name__)


# ---- the desk ------------------------------------------------------------------------------


@bp.get("/")
@requires(Permission.NFI_DISTRIBUTE)
def desk():
    """Scan a card (or search) to hand over items."""
    return render_template("nfi/desk.html", form=SearchForm(), result=None)


@bp.post("/find")
@requires(Permission.NFI_DISTRIBUTE)
def find():
    """The scanned token or the typed search: one person goes straight to their hand-over screen."""
    form = SearchForm()
    result = None
    if form.validate_on_submit():
        try:
            result = search_service.search(current_user, form.q.data)
        except RuleError as err:
            form.q.errors = [err.message]
        else:
            if result.exact is not None:
                return redirect(url_for("nfi.give", uid=result.exact.uid))
    return render_template("nfi/desk.html", form=form, result=result), form_status(form)


def _quantities(rows, prefix: str = "qty-") -> tuple[dict[str, str], dict[str, int], dict[str, str]]:
    """What was typed in each row, the parsed quantities, and each row's error."""
    typed = {key: request.form.get(prefix + key, "") for key in rows}
    parsed, errors = {}, {}
    for key, raw in typed.items():
        try:
            parsed[key] = stock.parse_quantity(raw, allow_zero=True)
        except NfiError as err:
            errors[key] = err.message
    return typed, parsed, errors


@bp.route("/give/<uid>", methods=["GET", "POST"])
@requires(Permission.NFI_DISTRIBUTE)
def give(uid: str):
    """What the person and their household may receive today; record a hand-over."""
    person = load_beneficiary(uid)
    centres = service.desk_centres(current_user, person)
    if not centres:
        flash(_("You are not assigned to a centre, so you cannot hand over items."), "error")
        return redirect(url_for("beneficiaries.profile", uid=person.uid))
    form = HandOverForm(centres=centres)
    if request.method == "POST" and not request.form.get("centre_id"):
        form.centre_id.data = centres[0].id  # one centre: the page sends none to choose from
    centre = next((c for c in centres if c.id == form.centre_id.data), centres[0])
    today = stock.centre_day(centre)
    view = rules.desk_view(person, stock.active_items(), today)
    keys = [v.key for v in view.all()]
    typed: dict[str, str] = {}
    row_errors: dict[str, str] = {}
    if request.method == "POST":
        typed, quantities, row_errors = _quantities(keys)
        if form.validate_on_submit() and not row_errors:
            ack = service.Acknowledgement(
                collected_by=form.collected_by.data,
                collector_name=form.collector_name.data,
                method=form.ack_method.data,
                signature=form.signature.data,
                witness_name=form.witness_name.data,
            )
            try:
                distribution = service.hand_over(current_user, centre, person, quantities, ack, form.justification.data)
            except service.HandOverRefused as err:
                row_errors = err.rows
                form.form_errors.append(err.message)
            except NfiError as err:
                show_on_form(form, err)
            else:
                flash(_("Hand-over recorded."), "success")
                return redirect(url_for("nfi.handover", handover_uid=distribution.uid))
        elif row_errors:
            form.form_errors.append(_("Check the quantities marked below."))
    on_hand = {lv.item.id: lv.on_hand for lv in stock.levels(centre.id)}
    return render_template(
        "nfi/give.html",
        form=form,
        person=person,
        view=view,
        centre=centre,
        typed=typed,
        row_errors=row_errors,
        on_hand=on_hand,
        recent=service.recent_for(person),
        may_override=can(current_user, Permission.NFI_OVERRIDE),
        today=today,
    ), form_status(form)


def _distribution(handover_uid: str) -> Distribution:
    distribution = get_by_uid_or_404(Distribution, handover_uid)
    if distribution.beneficiary.is_erased:
        abort(404)
    check_scope(current_user, distribution.centre_id)
    return distribution


@bp.get("/handovers/<handover_uid>")
@requires(Permission.NFI_DISTRIBUTE)
def handover(handover_uid: str):
    """A hand-over as recorded: items, who collected, the acknowledgement; voiding it."""
    distribution = _distribution(handover_uid)
    return render_template(
        "nfi/handover.html", d=distribution, void_form=VoidForm(), may_void=service.may_void(current_user, distribution)
    )


@bp.post("/handovers/<handover_uid>/void")
@requires(Permission.NFI_DISTRIBUTE)
def void(handover_uid: str):
    """Void a mistaken hand-over with its reason; the stock goes back."""
    distribution = _distribution(handover_uid)
    form = VoidForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            service.void(current_user, distribution, form.reason.data, form.note.data)
            flash(_("Hand-over voided; the items are back in stock."), "success")
            return redirect(url_for("nfi.handover", handover_uid=distribution.uid))
    return render_template(
        "nfi/handover.html", d=distribution, void_form=form, may_void=service.may_void(current_user, distribution)
    ), form_status(form)


# ---- stock ---------------------------------------------------------------------------------


def _centre(centre_id: int) -> Centre:
    centre = get_or_404(Centre, centre_id)
    check_scope(current_user, centre.id)
    return centre


@bp.get("/stock")
@requires(Permission.NFI_STOCK)
def stock_index():
    """The stock of my centres; straight to it when there is one."""
    centres = active_centres_of(current_user)
    if len(centres) == 1:
        return redirect(url_for("nfi.stock_centre", centre_id=centres[0].id))
    low = reports.low_stock([c.id for c in centres])
    return render_template("nfi/stock_index.html", centres=centres, low=low)


@bp.get("/stock/<int:centre_id>")
@requires(Permission.NFI_STOCK)
def stock_centre(centre_id: int):
    """Stock on hand of every item, with the low-stock warnings."""
    centre = _centre(centre_id)
    return render_template(
        "nfi/stock.html", centre=centre, levels=stock.levels(centre.id), last_count=stock.last_count(centre.id)
    )


def _sheet(centre: Centre, rows, prefix: str, form, action, template: str, **context):
    """The pages with one whole-number input per item (receive, transfer, count, thresholds): parse each
    row, call the service, or come back with what was typed and each row's message."""
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        typed, parsed, errors = _quantities([str(i.id) for i in rows], prefix)
        if form.validate_on_submit() and not errors:
            try:
                message = action({int(k): v for k, v in parsed.items()}, typed)
            except NfiError as err:
                if err.field and err.field.startswith(prefix):
                    errors[err.field[len(prefix) :]] = err.message
                    form.form_errors.append(err.message)
                else:
                    show_on_form(form, err)
            else:
                flash(message, "success")
                return redirect(url_for("nfi.stock_centre", centre_id=centre.id))
        elif errors:
            form.form_errors.append(_("Check the quantities marked below."))
    return render_template(template, form=form, centre=centre, typed=typed, errors=errors, **context), form_status(form)


@bp.route("/stock/<int:centre_id>/receive", methods=["GET", "POST"])
@requires(Permission.NFI_STOCK)
def receive(centre_id: int):
    """Goods received under a delivery reference."""
    centre = _centre(centre_id)
    items = stock.active_items()
    form = ReceiptForm()
    if request.method == "GET":
        form.received_on.data = stock.centre_day(centre)

    def record(lines, _typed):
        stock.receive(
            current_user,
            centre,
            reference=form.reference.data,
            source=form.source.data,
            received_on=form.received_on.data,
            lines=lines,
        )
        return _("Receipt recorded.")

    return _sheet(centre, items, "qty-", form, record, "nfi/receive.html", items=items)


@bp.route("/stock/<int:centre_id>/transfer", methods=["GET", "POST"])
@requires(Permission.NFI_STOCK)
def transfer(centre_id: int):
    """Send goods to another centre."""
    centre = _centre(centre_id)
    others = list(session.scalars(sa.select(Centre).where(Centre.active.is_(True)).order_by(Centre.code)))
    form = TransferForm(centres=others)
    levels = [lv for lv in stock.levels(centre.id) if lv.on_hand > 0]

    def record(lines, _typed):
        stock.transfer(current_user, centre, session.get(Centre, form.to_centre_id.data or 0), lines)
        return _("Transfer recorded: out of this centre's stock and into the other's.")

    return _sheet(
        centre,
        [lv.item for lv in levels],
        "qty-",
        form,
        record,
        "nfi/transfer.html",
        levels=levels,
        held={lv.item.id: lv.on_hand for lv in levels},
    )


@bp.route("/stock/<int:centre_id>/adjust", methods=["GET", "POST"])
@requires(Permission.NFI_STOCK)
def adjust(centre_id: int):
    """Loss, damage, expiry, found goods or a correction."""
    centre = _centre(centre_id)
    items = stock.active_items()
    form = AdjustForm(items=items)
    if form.validate_on_submit():
        with rule_on_form(form):
            quantity = stock.parse_quantity(form.quantity.data, field="quantity")
            stock.adjust(
                current_user,
                centre,
                session.get(NfiItem, form.item_id.data or 0),
                reason=form.reason.data,
                direction=form.direction.data,
                quantity=quantity,
            )
            flash(_("Adjustment recorded."), "success")
            return redirect(url_for("nfi.stock_centre", centre_id=centre.id))
    return render_template("nfi/adjust.html", form=form, centre=centre), form_status(form)


@bp.route("/stock/<int:centre_id>/count", methods=["GET", "POST"])
@requires(Permission.NFI_STOCK)
def count(centre_id: int):
    """A physical count: the differences become adjustments (an empty row was not counted)."""
    centre = _centre(centre_id)
    levels = stock.levels(centre.id)

    def record(counted, typed):
        sheet = stock.count(current_user, centre, {i: q for i, q in counted.items() if typed[str(i)].strip()})
        return ngettext(
            "Count recorded: %(num)d difference adjusted.",
            "Count recorded: %(num)d differences adjusted.",
            sheet.differences,
        )

    return _sheet(
        centre,
        [lv.item for lv in levels],
        "count-",
        SheetForm(),
        record,
        "nfi/count.html",
        levels=levels,
        held={lv.item.id: lv.on_hand for lv in levels},
    )


@bp.route("/stock/<int:centre_id>/thresholds", methods=["GET", "POST"])
@requires(Permission.NFI_STOCK)
def thresholds(centre_id: int):
    """The low-stock threshold of each item at the centre."""
    centre = _centre(centre_id)
    levels = stock.levels(centre.id)

    def record(values, _typed):
        stock.set_thresholds(current_user, centre, values)
        return _("Low-stock thresholds saved.")

    return _sheet(
        centre,
        [lv.item for lv in levels],
        "low-",
        SheetForm(),
        record,
        "nfi/thresholds.html",
        levels=levels,
        defaults={lv.item.id: lv.low_threshold for lv in levels},
    )


@bp.get("/stock/<int:centre_id>/ledger")
@requires(Permission.NFI_STOCK)
def ledger(centre_id: int):
    """Every movement of the centre's stock, newest first."""
    centre = _centre(centre_id)
    before = parse_id(request.args.get("before"))
    rows = stock.movements(centre.id, before_id=before, limit=51)
    return render_template("nfi/ledger.html", centre=centre, rows=rows[:50], more=len(rows) > 50)


# ---- reports -------------------------------------------------------------------------------

TABLES = ("distributions", "stock")


def _report_period():
    centres = centres_in_scope(current_user)
    countries = sorted({(c.country, country_name(c.country)) for c in centres}, key=lambda pair: pair[1])
    form = ReportForm(request.args, centres=centres, countries=countries)
    today = clock.viewer_today(current_user)
    if not form.start.data and not form.start.raw_data:
        form.start.data = today.replace(day=1)
    if not form.end.data and not form.end.raw_data:
        form.end.data = today
    period = None
    if form.validate():
        with rule_on_form(form):
            period = reports.period(
                current_user, form.start.data, form.end.data, form.centre_id.data or None, form.country.data or None
            )
    return form, period


@bp.get("/reports")
@requires(Permission.NFI_REPORTS)
def report():
    """Hand-overs by item, sex, age band, nationality and month; stock per period; low stock."""
    form, period = _report_period()
    data = {}
    if period is not None:
        data = {
            "distributions": reports.distributions(period),
            "stock": reports.stock(period),
            "low": reports.low_stock(period.centre_ids),
        }
    return render_template("nfi/reports.html", form=form, period=period, **data), form_status(form)


def _headers(table: str) -> list[str]:
    if table == "distributions":
        return [
            _("Country"),
            _("Centre"),
            _("Month"),
            _("Item"),
            _("Sex"),
            _("Age band"),
            _("Nationality"),
            _("People"),
            _("Units"),
        ]
    return [
        _("Country"),
        _("Centre"),
        _("Item"),
        _("Opening"),
        _("Received"),
        _("Transferred in"),
        _("Transferred out"),
        _("Handed over"),
        _("Adjusted"),
        _("Closing"),
        _("On hand now"),
        _("Low-stock threshold"),
        _("Status"),
    ]


@bp.get("/reports/<table>.<fmt>")
@requires(Permission.NFI_REPORTS)
def export(table: str, fmt: str):
    """A report table as CSV or XLSX (aggregates only; small counts shown as <5)."""
    if table not in TABLES or fmt not in ("csv", "xlsx"):
        abort(404)
    form, period = _report_period()
    if period is None:
        flash(_("Check the report's filters."), "error")
        return redirect(url_for("nfi.report"))
    rows = [r.shown() for r in (reports.distributions(period) if table == "distributions" else reports.stock(period))]
    audit.record("nfi.export", detail=f"{table}.{fmt}:{len(rows)}")
    name = f"nfi-{table}-{period.start.isoformat()}-{period.end.isoformat()}"
    if fmt == "csv":
        return csv_response(name, _headers(table), rows)
    return xlsx_response(name, table, _headers(table), rows)


# ---- catalogue -----------------------------------------------------------------------------


@bp.get("/items")
@requires(Permission.NFI_CATALOGUE)
def items():
    """The catalogue and each item's rules."""
    return render_template("nfi/items.html", items=catalogue.items())


@bp.route("/items/new", methods=["GET", "POST"])
@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@requires(Permission.NFI_CATALOGUE)
def item_edit(item_id: int | None = None):
    """Create or change an item, its target group and its entitlement rule."""
    item = get_or_404(NfiItem, item_id) if item_id else None
    form = ItemForm(obj=item)
    if request.method == "GET" and item is not None:
        form.sexes.data = item.sex_list
    if form.validate_on_submit():
        data = catalogue.ItemData(
            **{
                name: getattr(form, name).data
                for name in (
                    "code",
                    "name_es",
                    "name_pt",
                    "name_en",
                    "unit",
                    "category",
                    "active",
                    "level",
                    "age_min",
                    "age_max",
                    "quantity",
                    "period_days",
                    "min_interval_days",
                    "max_per_day",
                )
            },
            sexes=form.sexes.data or [],
        )
        with rule_on_form(form):
            catalogue.save_item(current_user, item, data)
            flash(_("Item saved."), "success")
            return redirect(url_for("nfi.items"))
    return render_template("nfi/item_form.html", form=form, item=item), form_status(form)


@bp.app_context_processor
def _helpers() -> dict:
    return {"nfi_vocab": vocab, "describe_group": rules.describe_group, "has_target": rules.has_target}


#: rows a section of the landing page shows before its link to the full page
HOME_ROWS = 5


def home_sections(user, today: dt.date) -> list[Section]:
    """On a centre manager's landing page: the items out of stock or running low at their centres."""
    if not role_allows(user, Permission.NFI_STOCK):
        return []
    low = reports.low_stock_in_scope(user)
    rows = [
        Row(
            level.item.name,
            url_for("nfi.stock_centre", centre_id=centre.id),
            f"{centre.code} · " + ngettext("%(num)d left", "%(num)d left", level.on_hand),
            _("out of stock") if level.status == "out" else "",
        )
        for centre, level in low[:HOME_ROWS]
    ]
    return [
        Section(
            "stock",
            _("Low stock"),
            rows,
            ngettext("%(num)d item running low", "%(num)d items running low", len(low)),
            _("Nothing running low."),
            url_for("nfi.stock_index"),
            _("All stock"),
            order=10,
        )
    ]
