"""The people tables: registrations by month, age, sex and nationality, needs, households, vulnerability."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.vocab import NEEDS, SENSITIVE_NEEDS, country_name
from msc.centres.models import EntryPoint
from msc.db import session
from msc.exports import suppress
from msc.reports.models import ReportCount as RC
from msc.reports.scope import BANDS, Scope, months_between
from msc.reports.tables import SEX_HXL, Table, counts_table, people_counts, sex_columns, share, sum_counts, tally


def registrations(s: Scope) -> Table:
    data = tally(people_counts(s), lambda month, sex, band, nationality: (month, sex))
    months = months_between(s.filters.start, s.filters.end)
    keys, labels = sex_columns()
    return counts_table(
        "registrations",
        _l("People registered by month and sex"),
        [_l("Month")],
        months,
        [(m,) for m in months],
        keys,
        labels,
        data,
        ["#date+month", *SEX_HXL, "#affected+total"],
        chart=True,
    )


def age_and_sex(s: Scope) -> Table:
    data = tally(people_counts(s), lambda month, sex, band, nationality: (band, sex))
    keys, labels = sex_columns()
    bands = [b for b in BANDS if b != "unknown" or any(k[0] == "unknown" for k in data)]
    return counts_table(
        "age_sex",
        _l("People registered by age and sex"),
        [_l("Age band")],
        bands,
        [(_band_label(b),) for b in bands],
        keys,
        labels,
        data,
        ["#age+range", *SEX_HXL, "#affected+total"],
        chart=True,
    )


def _band_label(band: str) -> object:
    return _l("Age unknown") if band == "unknown" else band


def people(s: Scope) -> Table:
    data = tally(people_counts(s), lambda month, sex, band, nationality: (nationality, band, sex))
    rows = sorted({(n, b) for n, b, _ in data}, key=lambda r: (country_name(r[0]), BANDS.index(r[1])))
    keys, labels = sex_columns()
    return counts_table(
        "people",
        _l("People registered by nationality, age and sex"),
        [_l("Nationality"), _l("Age band")],
        rows,
        [(country_name(n), _band_label(b)) for n, b in rows],
        keys,
        labels,
        {((n, b), x): v for (n, b, x), v in data.items()},
        ["#country+code+nationality", "#age+range", *SEX_HXL, "#affected+total"],
    )


def need_codes(s: Scope) -> list[str]:
    """The needs this user may count (sensitive ones only with the right to see them)."""
    return [c for c in NEEDS if s.sensitive or c not in SENSITIVE_NEEDS]


def needs(s: Scope) -> Table:
    codes = need_codes(s)
    data = sum_counts(s, "need", RC.k2, RC.sex, where=(RC.k2.in_(codes),))
    everyone = sum(people_counts(s).values())
    keys, labels = sex_columns()
    table = counts_table(
        "needs",
        _l("Specific needs by sex"),
        [_l("Specific need")],
        codes,
        [(NEEDS[c][0],) for c in codes],
        keys,
        labels,
        data,
        ["#indicator+need", *SEX_HXL, "#affected+total"],
        chart=True,
        column_totals=False,
        note=_l(
            "A person may have several needs; the share is of everyone registered in the period (%(n)s).",
            n=suppress(everyone),
        ),
    )
    table.columns = [*table.columns, _l("Total"), _l("Share of people")]
    table.cells = [[*cells, t, share(t, everyone)] for cells, t in zip(table.cells, table.row_totals or [])]
    table.hxl = [*table.hxl, "#affected+pct"]
    table.row_totals, table.chart_columns = None, len(keys)
    return table


def households(s: Scope) -> Table:
    homes = sum_counts(s, "household", RC.centre_id, people=False)
    by_centre = sum_counts(s, "people", RC.centre_id, RC.k2)
    persons = tally(by_centre, lambda centre, uasc: centre)
    uasc = {centre: n for (centre, flag), n in by_centre.items() if flag == "uasc"}
    rows = [c for c in s.centres if homes.get(c.id) or persons.get(c.id)]
    return Table(
        "households",
        _l("Households and possible unaccompanied or separated children"),
        [_l("Centre")],
        [_l("Households registered"), _l("People registered"), _l("Possible UASC")],
        [(f"{c.code} · {c.name}",) for c in rows],
        [[suppress(homes.get(c.id)), suppress(persons.get(c.id)), suppress(uasc.get(c.id))] for c in rows],
        ["#adm2+code", "#affected+households", "#affected+total", "#affected+uasc"],
        note=_l("Households are counted whatever the sex, age or nationality chosen."),
    )


def along_the_route(s: Scope) -> Table:
    """Per centre and month: the people it served (each once a month, at every centre that served them), the
    records that arrived from another centre and those that moved on to another."""
    served = sum_counts(s, "served", RC.centre_id, RC.month, people=False)
    arrived = sum_counts(s, "arrival", RC.centre_id, RC.month, people=False, where=(RC.k1 == "moved",))
    left = sum_counts(s, "departure", RC.centre_id, RC.month, people=False)
    rows = [
        (c, month)
        for c in s.centres
        for month in months_between(s.filters.start, s.filters.end)
        if served.get((c.id, month)) or arrived.get((c.id, month)) or left.get((c.id, month))
    ]
    return Table(
        "route",
        _l("Along the route: people served, arrivals and departures"),
        [_l("Centre"), _l("Month")],
        [_l("People served"), _l("Records arrived from another centre"), _l("Records moved on to another centre")],
        [(f"{c.code} · {c.name}", month) for c, month in rows],
        [
            [
                suppress(served.get((c.id, month))),
                suppress(arrived.get((c.id, month))),
                suppress(left.get((c.id, month))),
            ]
            for c, month in rows
        ],
        ["#adm2+code", "#date+month", "#affected+served", "#affected+arrived", "#affected+departed"],
        note=_l(
            "A person counts once a month at every centre that served them: registered them, received their "
            "record, handed them items, placed them in a shelter or referred them. People registered count only "
            "at the first centre. These figures do not depend on the sex, age or nationality chosen."
        ),
    )


def entry_point_names(keys: set[str]) -> dict[str, str]:
    """The label of each entry-point key the counts hold: the listed entry point's name, "Other" or
    "Not recorded"."""
    ids = [int(k) for k in keys if k.isdigit()]
    names: dict[str, str] = {"": _l("Not recorded"), "other": _l("Other (not on the list)")}
    if ids:
        rows = session.execute(sa.select(EntryPoint.id, EntryPoint.name).where(EntryPoint.id.in_(ids)))
        names.update({str(place_id): name for place_id, name in rows})
    return names


def vulnerability(s: Scope) -> Table:
    """The share of people with each specific need by centre and entry point (the route)."""
    codes = need_codes(s)
    persons = sum_counts(s, "people", RC.centre_id, RC.k1)
    counted = sum_counts(s, "need", RC.centre_id, RC.k1, RC.k2, where=(RC.k2.in_(codes),))
    centres = {c.id: c for c in s.centres}
    places = entry_point_names({entry for _centre, entry in persons})
    keys = sorted(persons, key=lambda k: (centres[k[0]].code, k[1] == "other", str(places.get(k[1], k[1]))))
    rows, cells = [], []
    for centre_id, entry in keys:
        whole = persons[(centre_id, entry)]
        rows.append((centres[centre_id].code, places.get(entry, entry)))
        shown_whole = suppress(whole)
        cells.append(
            [
                shown_whole,
                *(
                    share(suppress(counted.get((centre_id, entry, code), 0)), whole)
                    if isinstance(shown_whole, int)
                    else "—"
                    for code in codes
                ),
            ]
        )
    return Table(
        "vulnerability",
        _l("Vulnerability profile: share of people with each need"),
        [_l("Centre"), _l("Entry point")],
        [_l("People registered"), *(NEEDS[c][0] for c in codes)],
        rows,
        cells,
        ["#adm2+code", "#loc+entry", "#affected+total", *(f"#affected+{c}+pct" for c in codes)],
        note=_l("Shares of fewer than 5 people are not shown (—)."),
    )
