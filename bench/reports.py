"""Dashboards benchmark: every dashboard with 1,000,000 people, 3,000,000 hand-over lines and 500,000
referrals on PostgreSQL.

    python -m bench.reports --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
        [--people 1000000] [--lines 3000000] [--referrals 500000] [--samples 30]

Creates (and afterwards drops) its own database `msc_bench_reports` on that server and, through the
HTTP test client with real server-side sessions, measures for a regional protection officer, a country
protection officer (Colombia) and a centre manager:

  * GET /reports/                          the dashboard, default period (the last six months)
  * GET /reports/?start=…&end=…            twelve months, and thirty-six (the longest period allowed)
  * GET /reports/?…&sex=female&age_band=18-59&nationality=VEN   filtered by who
  * GET /reports/vulnerability             the vulnerability profile
  * GET /reports/people.csv                a download (aggregates, suppressed, HXL row)

first on the empty database (the baseline, same run), then after bulk-loading the data set with SQL
(20 centres in 5 countries, households of 2.5 people, sex, age band, nationality and entry point drawn
at random so that the counts have as many combinations as real data, specific needs, 250,000 cases with 2 referrals
each over a year in 7 sectors and every status, 1,000,000 hand-overs of 3 lines each over two years,
2 % voided) and recounting the dashboards' running counts from the records (`cube.rebuild`, timed).
For comparison it also times the same figures computed on every request from the records (GROUP BY
over the base tables), which is what the running counts avoid. Target: every dashboard p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

TARGET_MS = 500.0
DB = "msc_bench_reports"
COUNTRIES = ("COL", "PER", "ECU", "BRA", "CHL")


def fresh_database(url: str):
    server = sa.engine.make_url(url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))

    return server.set(database=DB).render_as_string(hide_password=False), drop


def build(url: str):
    from msc import create_app
    from msc import db as dbmod
    from msc.crypto.keys import FileKeyProvider

    instance = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "msc-bench"
    instance.mkdir(parents=True, exist_ok=True)
    keys = instance / "reports-bench.keys.json"
    if not keys.exists():
        FileKeyProvider(keys).generate()
    app = create_app(
        "testing",
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": url,
            "KEYS_FILE": str(keys),
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
        },
    )
    dbmod.upgrade(app)
    return app


def setup(app) -> dict[str, int]:
    """20 centres, one data key for the loaded rows, the three users, one partner with a service per sector."""
    from msc.centres.models import Centre
    from msc.crypto import DataKey
    from msc.db import session
    from msc.partners.models import Organisation, PartnerService
    from msc.partners.vocab import SECTORS
    from msc.security import service as accounts

    with app.app_context():
        centres = [
            Centre(
                code=f"{country}-C{i:02d}",
                name=f"CAM {country} {i}",
                country=country,
                municipality=f"Municipio {i}",
                kind="border_entry",
            )
            for country in COUNTRIES
            for i in range(1, 5)
        ]
        session.add_all(centres)
        key = DataKey.generate()
        session.add(key)
        org = Organisation(name="Socio", kind="ngo", country="COL", agreement_categories="identity", active=True)
        session.add(org)
        session.flush()
        for sector in SECTORS:
            session.add(PartnerService(organisation_id=org.id, name=sector, sector=sector, languages="es", active=True))
        users = {}
        for name, role, scope, country, mine in (
            ("region", "protection_officer", "region", None, []),
            ("country", "protection_officer", "country", "COL", []),
            ("manager", "centre_manager", "centre", None, centres[:1]),
        ):
            user = accounts.new_user(
                username=name,
                display_name=name,
                role=role,
                scope=scope,
                country=country,
                locale="es",
                password_hash="x",
            )
            user.centres = mine
            session.flush()
            users[name] = user.id
        session.commit()
        return {"key": key.id, "org": org.id, "first_centre": centres[0].id, **users}


def load(app, ids: dict, people: int, lines: int, referrals: int) -> dict[str, float]:
    """The data set, with SQL (the services would take hours at this size); then the running counts."""
    from msc.db import session
    from msc.reports import cube

    timings = {}
    households = people * 2 // 5
    c0 = ids["first_centre"]
    # person g (1-based) lives in household h = g % H (0-based, id h + 1), at centre c0 + h % 20, registered
    # when the household was, over two years
    when = "now() - ((h % 730) * interval '1 day') - ((h % 1440) * interval '1 minute')"
    steps = [
        (
            "households",
            f"""INSERT INTO households (uid, centre_id, created_at)
            SELECT md5('h' || h), {c0} + h % 20, {when} FROM generate_series(0, {households - 1}) h""",
        ),
        (
            "beneficiaries",
            f"""INSERT INTO beneficiaries (uid, case_number, card_token, centre_id, data_key_id,
                household_id, relationship_to_head, sex, birth_year, age_band, dob_estimated, nationality,
                document_type, entry_point_other, languages, registered_at)
            SELECT md5('b' || g), 'B-' || g, 'T-' || g, {c0} + h % 20, {ids["key"]}, h + 1,
                CASE WHEN g <= {households} THEN 'head' ELSE 'child' END,
                CASE WHEN r1 < 0.01 THEN 'other' WHEN r1 < 0.505 THEN 'female' ELSE 'male' END, 2000,
                CASE WHEN r2 < 0.10 THEN '0-4' WHEN r2 < 0.25 THEN '5-11' WHEN r2 < 0.35 THEN '12-17'
                     WHEN r2 < 0.93 THEN '18-59' ELSE '60+' END, false,
                CASE WHEN r3 < 0.80 THEN 'VEN' WHEN r3 < 0.88 THEN 'COL' WHEN r3 < 0.93 THEN 'HTI'
                     WHEN r3 < 0.97 THEN 'ECU' ELSE 'PER' END,
                'none', r4 < 0.3, 'es', {when}
            FROM (SELECT g, g % {households} AS h, random() AS r1, random() AS r2, random() AS r3, random() AS r4
                  FROM generate_series(1, {people}) g) s""",
        ),
        (
            "specific needs",
            """INSERT INTO specific_needs (beneficiary_id, code)
            SELECT id, code FROM beneficiaries CROSS JOIN (VALUES ('single_caregiver', 0.14), ('disability', 0.09),
                ('no_documents', 0.33), ('serious_medical', 0.06), ('pregnant_lactating', 0.04),
                ('indigenous', 0.03)) AS n(code, p)
            WHERE random() < p
            UNION ALL SELECT id, 'older_at_risk' FROM beneficiaries WHERE age_band = '60+' AND random() < 0.25""",
        ),
        (
            "cases",
            f"""INSERT INTO cases (uid, beneficiary_id, centre_id, status, risk_level, opened_at)
            SELECT md5('c' || id), id, centre_id, 'open', 'medium', registered_at
            FROM beneficiaries WHERE id <= {referrals // 2}""",
        ),
        (
            "referrals",
            f"""INSERT INTO referrals (uid, case_id, beneficiary_id, centre_id, service_id, organisation_id,
                urgency, status, shared, created_at, sent_at, deadline_at, answered_at)
            SELECT md5('r' || r), c.id, c.beneficiary_id, c.centre_id, s.id, {ids["org"]}, 'routine',
                (ARRAY['sent','accepted','completed','declined','cancelled','no_show','completed'])[1 + r % 7],
                'identity', t.sent, t.sent, t.sent + interval '7 days',
                CASE WHEN r % 7 IN (1, 2, 3, 5, 6) THEN t.sent + (r % 10) * interval '1 day' END
            FROM generate_series(1, {referrals}) r
            JOIN cases c ON c.id = 1 + r % {referrals // 2}
            JOIN LATERAL (SELECT now() - (r % 365) * interval '1 day' AS sent) t ON true
            JOIN partner_services s ON s.id = (SELECT min(id) FROM partner_services) + r % 7""",
        ),
        (
            "hand-overs",
            f"""INSERT INTO nfi_distributions (uid, centre_id, beneficiary_id, household_id, collected_by,
                ack_method, overridden, day, at, voided_at, void_reason)
            SELECT md5('d' || d), b.centre_id, b.id, b.household_id, 'self', 'thumbprint', false,
                current_date - (d % 730), now(), CASE WHEN d % 50 = 0 THEN now() END,
                CASE WHEN d % 50 = 0 THEN 'recorded_in_error' END
            FROM generate_series(1, {lines // 3}) d JOIN beneficiaries b ON b.id = 1 + d % {people}""",
        ),
        (
            "hand-over lines",
            f"""INSERT INTO nfi_distribution_lines (distribution_id, item_id, quantity, beneficiary_id,
                household_id, centre_id, day, month, sex, age_band, nationality, voided)
            SELECT d.id, i.item, 1 + d.id % 2, b.id, b.household_id, d.centre_id, d.day, to_char(d.day, 'YYYY-MM'),
                b.sex, b.age_band, b.nationality, d.voided_at IS NOT NULL
            FROM nfi_distributions d JOIN beneficiaries b ON b.id = d.beneficiary_id
            CROSS JOIN (VALUES ({item_by_code_id("HYG")}), ({item_by_code_id("BLK")}),
                               ({item_by_code_id("PONCHO")})) AS i(item)""",
        ),
    ]
    with app.app_context():
        session.execute(sa.text("SELECT setseed(0.42)"))  # the same data set every run
        for label, sql in steps:
            started = time.perf_counter()
            session.execute(sa.text(sql))
            session.commit()
            timings[label] = time.perf_counter() - started
            print(f"  loaded {label:<16} {timings[label]:7.1f} s", flush=True)
    with app.extensions["msc.engine"].connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    with app.app_context():
        started = time.perf_counter()
        rows = cube.rebuild(session)
        session.commit()
        timings["rebuild"] = time.perf_counter() - started
        print(f"  recounted the dashboards' running counts: {rows:,} rows in {timings['rebuild']:.1f} s", flush=True)
        timings["count_rows"] = rows
    with app.extensions["msc.engine"].connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE report_counts")
    return timings


_ITEMS: dict[str, int] = {}


def item_by_code_id(code: str) -> int:
    return _ITEMS[code]


def clients(app, ids: dict) -> dict:
    """A logged-in test client per user (real server-side sessions; the login form is measured elsewhere)."""
    from msc.db import session
    from msc.security import service
    from msc.security.models import User

    out = {}
    for name in ("region", "country", "manager"):
        with app.app_context():
            token = service.start_session(session.get(User, ids[name]))
            session.commit()
        client = app.test_client()
        with client.session_transaction() as s:
            s["_user_id"] = f"{ids[name]}:{token}"
            s["_fresh"] = True
        out[name] = client
    return out


def months_ago(n: int) -> str:
    today = dt.date.today()
    index = today.year * 12 + today.month - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def pages() -> dict[str, str]:
    this, year = months_ago(0), months_ago(11)
    return {
        "dashboard (6 months)": "/reports/",
        "dashboard (12 months)": f"/reports/?start={year}&end={this}",
        "dashboard (36 months)": f"/reports/?start={months_ago(35)}&end={this}",
        "dashboard filtered": f"/reports/?start={year}&end={this}&sex=female&age_band=18-59&nationality=VEN",
        "vulnerability profile": f"/reports/vulnerability?start={year}&end={this}",
        "people.csv (12 months)": f"/reports/people.csv?start={year}&end={this}",
    }


def measure(users: dict, samples: int) -> dict[tuple[str, str], list[float]]:
    out = {}
    for who, client in users.items():
        for label, url in pages().items():
            for _ in range(2):
                res = client.get(url)
                assert res.status_code == 200, (who, url, res.status_code)
            ms = []
            for _ in range(samples):
                started = time.perf_counter()
                res = client.get(url)
                ms.append((time.perf_counter() - started) * 1000)
                assert res.status_code == 200
            out[(who, label)] = ms
    return out


def stats(ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


def report(title: str, results: dict) -> float:
    print(f"\n{title}")
    print(f"  {'user':<9} {'page':<24} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    worst = 0.0
    for (who, label), ms in results.items():
        p50, p95, top = stats(ms)
        worst = max(worst, p95)
        print(f"  {who:<9} {label:<24} {p50:8.1f} {p95:8.1f} {top:8.1f}")
    return worst


def from_the_records(app, samples: int) -> list[float]:
    """The regional dashboard's people, needs, referrals and items figures for twelve months, computed on
    the request from the base tables (what the running counts replace)."""
    from msc.db import session

    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
    queries = [
        "SELECT to_char(registered_at, 'YYYY-MM'), sex, count(*) FROM beneficiaries "
        "WHERE registered_at >= :s GROUP BY 1, 2",
        "SELECT nationality, age_band, sex, count(*) FROM beneficiaries WHERE registered_at >= :s GROUP BY 1, 2, 3",
        "SELECT n.code, b.sex, count(*) FROM specific_needs n JOIN beneficiaries b ON b.id = n.beneficiary_id "
        "WHERE b.registered_at >= :s GROUP BY 1, 2",
        "SELECT s.sector, r.status, count(*) FROM referrals r JOIN partner_services s ON s.id = r.service_id "
        "WHERE r.sent_at >= :s GROUP BY 1, 2",
        "SELECT item_id, sex, sum(quantity) FROM nfi_distribution_lines WHERE NOT voided AND day >= :d GROUP BY 1, 2",
    ]
    ms = []
    with app.app_context():
        for _ in range(samples):
            started = time.perf_counter()
            for q in queries:
                session.execute(sa.text(q), {"s": start, "d": start.date()}).all()
            ms.append((time.perf_counter() - started) * 1000)
            session.rollback()
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server (any database on it)")
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=3_000_000)
    parser.add_argument("--referrals", type=int, default=500_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    url, drop = fresh_database(args.database_url)
    try:
        app = build(url)
        ids = setup(app)
        with app.app_context():
            from msc.nfi.service import item_by_code

            _ITEMS.update({code: item_by_code(code).id for code in ("HYG", "BLK", "PONCHO")})
        print(
            f"PostgreSQL, {args.people:,} people, {args.lines:,} hand-over lines, {args.referrals:,} referrals; "
            f"{args.samples} samples per page after 2 warm-ups"
        )
        baseline = report("Baseline: the same pages on the empty database", measure(clients(app, ids), args.samples))
        print("\nLoading the data set")
        timings = load(app, ids, args.people, args.lines, args.referrals)
        worst = report(
            f"With the data set ({timings['count_rows']:,} running-count rows)",
            measure(clients(app, ids), args.samples),
        )
        p50, p95, top = stats(from_the_records(app, max(5, args.samples // 3)))
        print(
            f"\nThe same figures computed from the records on each request (5 GROUP BYs, regional, 12 months): "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"
        )
        print(
            f"\nWorst dashboard p95: {worst:.1f} ms (baseline worst {baseline:.1f} ms); target < {TARGET_MS:.0f} ms: "
            f"{'met' if worst < TARGET_MS else 'NOT met'}"
        )
    finally:
        if not args.keep:
            drop()


if __name__ == "__main__":
    main()
