"""Dashboards and the vulnerability profile, with a CSV and XLSX of every table (each download logged)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from msc import clock
from msc.beneficiaries.vocab import country_name
from msc.exports import csv_response, xlsx_response
from msc.forms import form_status, rule_on_form
from msc.reports import people, service
from msc.reports import scope as report_scope
from msc.reports.forms import FilterForm
from msc.security import audit
from msc.security.policy import Permission, centres_in_scope, requires

bp = Blueprint("reports", __name__)


def _scope():
    """The filter form (defaults: the last six months) and, when it holds, the checked scope."""
    centres = centres_in_scope(current_user)
    countries = sorted({(c.country, country_name(c.country)) for c in centres}, key=lambda pair: pair[1])
    form = FilterForm(request.args, centres=centres, countries=countries)
    today = clock.viewer_today(current_user)
    start, end = report_scope.default_period(today)
    if not form.end.raw_data:
        form.end.data = end
    if not form.start.raw_data:
        form.start.data = start
    scope = None
    if form.validate():
        filters = report_scope.Filters(
            (form.start.data or "").strip(),
            (form.end.data or "").strip(),
            form.centre_id.data or None,
            form.country.data or None,
            form.sex.data or None,
            form.age_band.data or None,
            form.nationality.data or None,
        )
        with rule_on_form(form):
            scope = report_scope.scope(current_user, filters)
    return form, scope


@bp.get("/")
@requires(Permission.REPORTS)
def dashboard():
    """The dashboard of the user's centres, country or region."""
    form, scope = _scope()
    tables = service.dashboard(current_user, scope) if scope else []
    return render_template("reports/dashboard.html", form=form, scope=scope, tables=tables), form_status(form)


@bp.get("/vulnerability")
@requires(Permission.REPORTS)
def vulnerability():
    """The share of people with each specific need by centre and entry point."""
    form, scope = _scope()
    tables = [people.vulnerability(scope)] if scope else []
    return render_template("reports/vulnerability.html", form=form, scope=scope, tables=tables), form_status(form)


@bp.get("/<table>.<fmt>")
@requires(Permission.REPORTS)
def export(table: str, fmt: str):
    """One table as CSV or XLSX: aggregates only, small counts hidden, HXL hashtags on the second row."""
    if table not in service.TABLES or fmt not in ("csv", "xlsx"):
        abort(404)
    form, scope = _scope()
    if scope is None:
        flash(_("Check the report's filters."), "error")
        return redirect(url_for("reports.dashboard"))
    found = service.table(current_user, scope, table)
    rows = found.export_rows()
    f = scope.filters
    audit.record(
        "reports.export",
        detail=f"{table}.{fmt}:{len(rows)}:{f.start}..{f.end}:{','.join(c.code for c in scope.centres)}",
    )
    name = f"msc-{table}-{f.start}-{f.end}"
    header = [str(h) for h in found.header]
    if fmt == "csv":
        return csv_response(name, header, rows, hxl=found.hxl)
    return xlsx_response(name, table, header, rows, hxl=found.hxl)
