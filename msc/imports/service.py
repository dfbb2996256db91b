"""Importing an existing list: upload (read in memory, held encrypted), map its columns and values, check
every row by the registration's rules and find its duplicates (the preview, a job), decide per duplicate,
import as a job in committed batches that resumes where it stopped, report, and undo while untouched.

Every row goes through the registration service (encryption, blind indexes, consent, household, audit,
the dashboards' counts). A bad row never stops the good ones: it is refused with the column and why."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries import duplicates, regional
from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange, BlindIndexEntry
from msc.centres.models import Centre
from msc.centres.stays import Stay
from msc.crypto import DataKey
from msc.crypto.blind import fold, normalise_document
from msc.db import Base, session, utcnow
from msc.errors import DomainError, RuleError
from msc.imports import mapping, parse, vocab
from msc.imports.models import BatchState, ImportBatch, ImportMapping, ImportRow
from msc.jobs import runner
from msc.jobs.models import Job
from msc.reports import cube
from msc.reports.models import ServedMonth
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import in_scope

#: rows imported between two commits (the job resumes from the last one)
BATCH = 100
CHECK = "imports.check"
RUN = "imports.run"
#: what a duplicate's row may become
DECISIONS = ("skip", "link", "new")
OUTCOMES = {
    "imported": _l("Imported"),
    "linked": _l("Linked to an existing record"),
    "skipped": _l("Skipped"),
    "refused": _l("Refused"),
}
#: tables the import writes for a person: an undo removes their rows; a row of any other table that
#: names the person means someone worked on the record since
_IMPORT_WRITES = {
    "consents",
    "specific_needs",
    "blind_index_entries",
    "beneficiary_changes",
    "duplicate_candidates",
    "duplicate_decisions",
    "stays",
    "served_months",
    "import_rows",
}


SKIPPED = _l("Possible duplicate: skipped.")
LINK_GONE = _l("The record to link to is gone.")
TWO_HEADS = _l("This household already has a head in the list: give this row another relationship.")


class ImportError_(DomainError):
    """An import refused, in words."""


# ---- upload and mapping --------------------------------------------------------------------------------


def upload(user: Actor, centre: Centre, filename: str, data: bytes, mapping_uid: str | None) -> ImportBatch:
    """Read a file in memory and hold its rows encrypted under a new key of their own: the file itself is
    never kept. The columns start mapped as the chosen saved mapping says, else as their headers suggest."""
    if not centre.active or not in_scope(user, centre.id):
        raise ImportError_(_l("Choose one of your centres."), field="centre_id")
    kind, table = parse.read(filename, data, current_app.config["IMPORT_MAX_ROWS"])
    saved = session.scalar(sa.select(ImportMapping).where(ImportMapping.uid == mapping_uid)) if mapping_uid else None
    batch = ImportBatch(
        centre_id=centre.id,
        user_id=user.id,
        mapping_id=saved.id if saved else None,
        kind=kind,
        total_rows=len(table.rows),
        data_key=DataKey.generate(),
    )
    batch.config = json.dumps(mapping.guessed(table.columns, saved.settings if saved else None))
    batch.table = table.as_json()
    session.add(batch)
    session.flush()
    audit.record("import.upload", object_type="import", object_id=batch.id, detail=f"{kind}:{len(table.rows)}")
    return batch


#: values of a column shown for mapping, at most
VALUES_SHOWN = 40


def mapping_name(mapping_id: int) -> str:
    found = session.get(ImportMapping, mapping_id)
    return found.name if found else ""


def mappings() -> list[ImportMapping]:
    return list(session.scalars(sa.select(ImportMapping).order_by(ImportMapping.name)))


def columns_of(batch: ImportBatch) -> list[str]:
    return list((batch.table or {}).get("columns") or [])


def distinct_values(batch: ImportBatch, config: dict[str, Any], limit: int = 40) -> dict[str, list[str]]:
    """The values each choice or multi column holds (up to `limit` each, most frequent first), for the
    value mapping. Only columns mapped to a field of a list: never names, documents, phones or dates."""
    table = batch.table or {"columns": [], "rows": []}
    out: dict[str, list[str]] = {}
    for i, column in enumerate(table["columns"]):
        target = config["columns"].get(column)
        if target not in (*vocab.CHOICE_FIELDS, *vocab.MULTI_FIELDS):
            continue
        counts: dict[str, int] = defaultdict(int)
        for row in table["rows"]:
            cell = row[i].strip() if i < len(row) else ""
            words = mapping.words_of(cell) if target in vocab.MULTI_FIELDS else [" ".join(cell.split())]
            for word in words:
                if word:
                    counts[word[:60]] += 1
        ranked = sorted(counts, key=lambda w: (-counts[w], w))[:limit]
        out[column] = ranked
    return out


def set_mapping(
    user: Actor,
    batch: ImportBatch,
    columns: dict[str, str],
    values: dict[str, dict[str, str]],
    date_format: str,
    save_as: str | None,
    complete: bool = True,
) -> dict[str, Any]:
    """Keep the mapping the page sent for this batch (and save it for the source under a name). A mapping
    kept to go on mapping (`complete` False) may still lack a required field."""
    _check_state(batch, BatchState.UPLOADED, BatchState.CHECKED)
    known = set(columns_of(batch))
    config = mapping.empty_config()
    for column, target in columns.items():
        if column in known:
            config["columns"][column] = target if target in vocab.FIELDS else vocab.IGNORE
    taken = [t for t in config["columns"].values() if t]
    repeated = {t for t in taken if taken.count(t) > 1} - {"given_names", "family_names"}
    if repeated:
        raise ImportError_(
            _l(
                "Map each field from one column only: %(fields)s.",
                fields=", ".join(str(vocab.FIELDS[t]) for t in sorted(repeated)),
            ),
            field="columns",
        )
    missing = mapping.missing_fields(config)
    if missing and complete:
        raise ImportError_(
            _l("Map a column to each of: %(fields)s.", fields=", ".join(str(vocab.FIELDS[t]) for t in missing)),
            field="columns",
        )
    if date_format not in vocab.DATE_FORMATS:
        raise ImportError_(_l("Choose how the list writes its dates."), field="date_format")
    config["date_format"] = date_format
    for target, words in values.items():
        allowed = set(vocab.choices(target)) | {vocab.BLANK}
        kept = {fold(raw): code for raw, code in words.items() if code in allowed and fold(raw)}
        if kept:
            config["values"][target] = kept
    batch.config = json.dumps(config)
    if save_as:
        name = " ".join(save_as.split())[:80]
        saved = session.scalar(sa.select(ImportMapping).where(ImportMapping.name == name))
        if saved is None:
            saved = ImportMapping(name=name, created_by_id=user.id, config="{}")
            session.add(saved)
        saved.config = json.dumps(config)
        saved.updated_at = utcnow()
        session.flush()
        batch.mapping_id = saved.id
    return config


def _check_state(batch: ImportBatch, *states: str) -> None:
    if batch.state not in states and not (BatchState.UPLOADED in states and check_stopped(batch)):
        raise ImportError_(_l("This import has moved on: reload the page."))


def check_stopped(batch: ImportBatch) -> bool:
    """Whether the batch's preview stopped without finishing (its job failed): it may be checked again."""
    if batch.state != BatchState.CHECKING or batch.job_id is None:
        return False
    job = session.get(Job, batch.job_id)
    return job is None or job.finished


# ---- the preview ----------------------------------------------------------------------------------------


def start_check(user: Actor, batch: ImportBatch) -> None:
    """Queue the preview: every row checked, its duplicates found. Nothing is registered."""
    _check_state(batch, BatchState.UPLOADED, BatchState.CHECKED)
    batch.state = BatchState.CHECKING
    batch.job_id = runner.enqueue(CHECK, user, batch.uid).id


@dataclass
class Finding:
    """What the preview found of a row (kept in the batch's encrypted findings)."""

    errors: dict[str, str]
    #: the earlier row of the file it repeats (its index)
    same_as: int | None = None
    #: people within the reach who may be this person: (id, reasons)
    candidates: list[tuple[int, list[str]]] | None = None
    #: the record within the reach that holds this document number
    document: int | None = None
    #: records beyond the reach that may be the person: (country, YYYY-MM, reasons)
    elsewhere: list[tuple[str, str, list[str]]] | None = None


def check(user: Actor, batch: ImportBatch, progress) -> dict[str, int]:
    """The preview of a batch (run by its job): each row read through the mapping and checked by the
    registration's rules, households ordered head first, duplicates found within the file and against
    the registry. Returns the counts."""
    table, config = batch.table, batch.settings
    centre = session.get_one(Centre, batch.centre_id)
    today = clock.today_at(centre)
    rows = [mapping.read_row(config, table["columns"], cells) for cells in table["rows"]]
    found: dict[int, Finding] = {}
    seen_documents: dict[str, int] = {}
    seen_people: dict[tuple[str, str, str], int] = {}
    for i, row in enumerate(rows):
        finding = Finding(errors=dict(row.errors))
        person = row.person
        if person is not None:
            try:
                dob, _ = reception.validate_person(person, today)
                reception.entry_point_of(centre.country, person.entry_point)
            except RuleError as err:
                finding.errors[_column(row, err.field)] = str(err.message)
            else:
                _duplicates(user, centre, i, row, dob, finding, seen_documents, seen_people)
        if finding.errors or finding.same_as is not None or finding.candidates or finding.document or finding.elsewhere:
            found[i] = finding
        if i % 200 == 199:
            progress(i + 1, len(rows))
    order, household_errors = _order(rows)
    for i, message in household_errors.items():
        column = rows[i].columns.get("relationship") or rows[i].columns.get("household") or ""
        found.setdefault(i, Finding(errors={})).errors.setdefault(column, message)
    decisions = {str(i): "skip" for i, f in found.items() if not f.errors}
    batch.findings = {
        "rows": {str(i): _finding_json(f) for i, f in found.items()},
        "order": order,
        "decisions": decisions,
    }
    batch.state = BatchState.CHECKED
    counts = summary(batch)
    audit.record("import.check", object_type="import", object_id=batch.id, detail=_counts_detail(counts))
    return counts


#: where a rule's field came from when no column fed it (a document type without its number)
_NEIGHBOURS = {
    "document_number": "document_type",
    "document_type": "document_number",
    "date_of_birth": "estimated_age",
    "estimated_age": "date_of_birth",
}


def _column(row: mapping.Row, field: str | None) -> str:
    """The column a rule's field came from ("" for the row as a whole)."""
    field = field or ""
    return row.columns.get(field) or row.columns.get(_NEIGHBOURS.get(field, ""), "")


def _duplicates(user, centre, i, row, dob, finding, seen_documents, seen_people) -> None:
    person = row.person
    document = normalise_document(person.document_number or "")
    key = (fold(person.given_names), fold(person.family_names), dob.isoformat())
    earlier = seen_documents.get(document) if document else None
    if earlier is None:
        earlier = seen_people.get(key)
    if earlier is not None:
        finding.same_as = earlier
    if document:
        seen_documents.setdefault(document, i)
    seen_people.setdefault(key, i)
    holder = duplicates.holder_of_document(person.document_number) if document else None
    if holder is not None:
        if not in_scope(user, holder.centre_id) or holder.is_erased or holder.merged_into_id is not None:
            finding.errors[_column(row, "document_number")] = str(
                _l("This document number is already registered at another centre. Ask a caseworker to look into it.")
            )
            return
        finding.document = holder.id
    candidates = duplicates.find(user, person, dob, country=centre.country)
    finding.candidates = [
        (c.beneficiary.id, list(c.reasons)) for c in candidates if c.beneficiary.id != finding.document
    ]
    hints = duplicates.regional_hints(user, person, dob, country=centre.country)
    regional.record_shown("import", hints)
    finding.elsewhere = [(h.country, h.registered_month.strftime("%Y-%m"), list(h.reasons)) for h in hints]


def _order(rows: list[mapping.Row]) -> tuple[list[int], dict[int, str]]:
    """The import's order: each household's head before its members (the head is the row saying so, else
    the household's first row); the rows of a household that names two heads are refused after the first."""
    heads: dict[str, int] = {}
    errors: dict[int, str] = {}
    for i, row in enumerate(rows):
        if row.household and row.relationship == "head":
            if row.household in heads:
                errors[i] = str(
                    _l("This household already has a head in the list: give this row another relationship.")
                )
            else:
                heads[row.household] = i
    for i, row in enumerate(rows):
        if row.household and row.household not in heads:
            heads[row.household] = i
    order = sorted(
        range(len(rows)), key=lambda i: (heads.get(rows[i].household or "", i), i != heads.get(rows[i].household or ""))
    )
    return order, errors


def _finding_json(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.errors:
        out["errors"] = f.errors
    if f.same_as is not None:
        out["same_as"] = f.same_as
    if f.candidates:
        out["candidates"] = f.candidates
    if f.document:
        out["document"] = f.document
    if f.elsewhere:
        out["elsewhere"] = f.elsewhere
    return out


def summary(batch: ImportBatch) -> dict[str, int]:
    """The preview's counts: rows, refused, possible duplicates, ready, without a recorded consent."""
    findings = batch.findings or {"rows": {}}
    refused = sum(1 for f in findings["rows"].values() if f.get("errors"))
    duplicates_ = sum(1 for f in findings["rows"].values() if not f.get("errors"))
    return {
        "rows": batch.total_rows,
        "refused": refused,
        "duplicates": duplicates_,
        "ready": batch.total_rows - refused - duplicates_,
    }


def _counts_detail(counts: dict[str, int]) -> str:
    return ",".join(f"{k}:{v}" for k, v in counts.items())


@dataclass
class Problem:
    """A row of the preview the page shows: its number, its errors, or its possible duplicates."""

    row: int
    index: int
    name: str
    errors: list[tuple[str, str]]
    same_as: int | None
    candidates: list[tuple[Beneficiary, list[str]]]
    document: Beneficiary | None
    elsewhere: list[tuple[str, str, list[str]]]
    decision: str


def problems(user: Actor, batch: ImportBatch, page: int = 1, per_page: int = 50) -> tuple[list[Problem], int]:
    """The rows of the preview with something to say, a page at a time, and how many there are. The row's
    name is shown beside its possible duplicates (the user decides between them); refused rows name only
    the column and why."""
    findings = batch.findings or {"rows": {}, "decisions": {}}
    table = batch.table or {"columns": [], "rows": []}
    config = batch.settings
    listed = sorted(findings["rows"].items(), key=lambda kv: int(kv[0]))
    chosen = listed[(page - 1) * per_page : page * per_page]
    ids = {c[0] for _, f in chosen for c in f.get("candidates", [])} | {
        f["document"] for _, f in chosen if f.get("document")
    }
    people = {p.id: p for p in session.scalars(sa.select(Beneficiary).where(Beneficiary.id.in_(ids)))} if ids else {}
    out = []
    for key, f in chosen:
        i = int(key)
        name = ""
        if not f.get("errors"):
            row = mapping.read_row(config, table["columns"], table["rows"][i])
            name = f"{row.person.given_names} {row.person.family_names}" if row.person else ""
        out.append(
            Problem(
                row=i + 2,
                index=i,
                name=name,
                errors=sorted((f.get("errors") or {}).items()),
                same_as=f["same_as"] + 2 if f.get("same_as") is not None else None,
                candidates=[
                    (people[pid], [str(duplicates.REASONS.get(r, r)) for r in reasons])
                    for pid, reasons in f.get("candidates", [])
                    if pid in people and in_scope(user, people[pid].centre_id)
                ],
                document=people.get(f.get("document") or 0),
                elsewhere=[(e[0], e[1], list(e[2])) for e in f.get("elsewhere", [])],
                decision=findings["decisions"].get(key, ""),
            )
        )
    return out, len(listed)


def decide(user: Actor, batch: ImportBatch, decisions: dict[int, str]) -> None:
    """Record what becomes of each possible duplicate: skip, link:<record id> (one of the row's candidates),
    or new (a different person: remembered as "not the same person")."""
    _check_state(batch, BatchState.CHECKED)
    findings = batch.findings
    for index, decision in decisions.items():
        f = findings["rows"].get(str(index))
        if f is None or f.get("errors"):
            continue
        kind, _, target = decision.partition(":")
        if kind == "link":
            allowed = {c[0] for c in f.get("candidates", [])} | ({f["document"]} if f.get("document") else set())
            if not target.isdigit() or int(target) not in allowed:
                raise ImportError_(_l("Link a row only to one of the records found for it."), field=f"row-{index}")
        elif kind == "new" and f.get("document"):
            raise ImportError_(
                _l("This document number belongs to a record already: skip the row or link it to that record."),
                field=f"row-{index}",
            )
        elif kind not in ("skip", "new"):
            continue
        findings["decisions"][str(index)] = decision
    batch.findings = findings


# ---- the import -----------------------------------------------------------------------------------------


def start(user: Actor, batch: ImportBatch) -> None:
    """Queue the import of a checked batch (or its resumption, after a crash or a restart)."""
    _check_state(batch, BatchState.CHECKED, BatchState.RUNNING)
    batch.state = BatchState.RUNNING
    batch.job_id = runner.enqueue(RUN, user, batch.uid).id
    audit.record("import.start", object_type="import", object_id=batch.id, detail=str(batch.done_rows))


def run(user: Actor, batch: ImportBatch, progress) -> dict[str, int]:
    """Import the rows of a batch from where it stopped, committing every BATCH rows with its progress.
    When the last row is done, the rows held for it are destroyed with their key."""
    table, findings, config = batch.table, batch.findings, batch.settings
    centre = session.get_one(Centre, batch.centre_id)
    rows = table["rows"]
    order: list[int] = findings["order"]
    households = _households_so_far(batch, table["columns"], rows, config)
    ours = set(imported_ids(batch))
    for position in range(batch.done_rows, len(order)):
        i = order[position]
        outcome = _import_row(user, batch, centre, i, table["columns"], rows[i], config, findings, households, ours)
        if outcome.outcome == "imported" and outcome.beneficiary_id:
            ours.add(outcome.beneficiary_id)
        session.add(outcome)
        setattr(batch, outcome.outcome, getattr(batch, outcome.outcome) + 1)
        batch.done_rows = position + 1
        if batch.done_rows % BATCH == 0:
            progress(batch.done_rows, len(order))  # commits the rows so far with where to resume
    batch.state = BatchState.DONE
    batch.finished_at = utcnow()
    batch.table = None
    batch.findings = None
    batch.data_key.destroy()
    counts = {k: getattr(batch, k) for k in ("imported", "linked", "skipped", "refused", "without_consent")}
    audit.record("import.done", object_type="import", object_id=batch.id, detail=_counts_detail(counts))
    return counts


def _households_so_far(batch, columns, rows, config) -> dict[str, tuple[str, str]]:
    """Each household of the list already started by this batch (a resumed run): key -> (household uid,
    head's full name)."""
    out: dict[str, tuple[str, str]] = {}
    done = session.execute(
        sa.select(ImportRow.row, Beneficiary)
        .join(Beneficiary, Beneficiary.id == ImportRow.beneficiary_id)
        .where(ImportRow.batch_id == batch.id, ImportRow.outcome.in_(("imported", "linked")))
    )
    for row_number, person in done:
        row = mapping.read_row(config, columns, rows[row_number - 2])
        if row.household and row.household not in out and person.household is not None:
            out[row.household] = (person.household.uid, person.full_name)
    return out


def _import_row(user, batch, centre, i, columns, cells, config, findings, households, ours) -> ImportRow:
    """One row: refused, skipped, linked, or registered. The people this batch registered already may be
    alike (a family's names): the preview told the list's rows apart, so they do not stop the row; the
    pairs are kept for a desk to look at."""
    row_number = i + 2
    f = findings["rows"].get(str(i), {})
    if f.get("errors"):
        column, message = sorted(f["errors"].items())[0]
        return ImportRow(batch_id=batch.id, row=row_number, outcome="refused", column=column, message=message)
    row = mapping.read_row(config, columns, cells)
    decision = findings["decisions"].get(str(i), "")
    kind, _, target = decision.partition(":")
    if kind == "skip":
        return ImportRow(
            batch_id=batch.id, row=row_number, outcome="skipped", message=str(_l("Possible duplicate: skipped."))
        )
    if kind == "link":
        linked = session.get(Beneficiary, int(target))
        if linked is None or not in_scope(user, linked.centre_id) or linked.is_erased:
            return ImportRow(
                batch_id=batch.id, row=row_number, outcome="skipped", message=str(_l("The record to link to is gone."))
            )
        if row.household and row.household not in households and linked.household is not None:
            households[row.household] = (linked.household.uid, linked.full_name)
        return ImportRow(batch_id=batch.id, row=row_number, outcome="linked", beneficiary_id=linked.id)
    acknowledged = {c[0] for c in f.get("candidates", [])} if kind == "new" else set()
    if kind == "new" and f.get("same_as") is not None:
        earlier = session.scalar(
            sa.select(ImportRow.beneficiary_id).where(ImportRow.batch_id == batch.id, ImportRow.row == f["same_as"] + 2)
        )
        if earlier:
            acknowledged.add(earlier)
    assert row.person is not None
    joined = households.get(row.household or "")
    is_head = joined is None
    choice = reception.HouseholdChoice()
    if joined is not None:
        relationship = row.relationship if row.relationship and row.relationship != "head" else "other_relative"
        choice = reception.HouseholdChoice(join_household_uid=joined[0], relationship=relationship)
    consents, unrecorded = _consents(row, centre, joined)
    try:
        with session.begin_nested():
            person = reception.register(
                user,
                centre,
                row.person,
                consents,
                choice,
                acknowledged,
                hints_seen=True,
                consent_unrecorded=unrecorded,
                tolerated=ours,
            )
    except RuleError as err:
        return ImportRow(
            batch_id=batch.id,
            row=row_number,
            outcome="refused",
            column=_column(row, err.field),
            message=str(err.message),
        )
    except reception.PossibleDuplicates:
        return ImportRow(
            batch_id=batch.id,
            row=row_number,
            outcome="skipped",
            message=str(_l("May already be registered (found while importing): check at the desk.")),
        )
    if is_head and row.household and person.household is not None:
        households[row.household] = (person.household.uid, person.full_name)
    if unrecorded:
        batch.without_consent += 1
    return ImportRow(batch_id=batch.id, row=row_number, outcome="imported", beneficiary_id=person.id)


def _consents(row: mapping.Row, centre: Centre, joined: tuple[str, str] | None) -> tuple[list, bool]:
    """The consents to record, and whether the person comes without a recorded consent: a list that
    recorded none, or a child's whose guardian the list does not name (the household's head)."""
    if row.unrecorded or row.person is None:
        return [], True
    today = clock.today_at(centre)
    dob, _ = row.person.birth_date(today)
    age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
    consents = list(row.consents)
    if age < reception.ADULT_AGE:
        if joined is None:
            return [], True
        for c in consents:
            c.given_by, c.guardian_name = "guardian", joined[1]
    for c in consents:
        c.method = "written"
    try:
        reception.validate_consents(consents, age)
    except RuleError:
        return [], True
    return consents, False


# ---- the report and the undo -----------------------------------------------------------------------------


def report(batch: ImportBatch) -> list[tuple[int, str, str, str, str]]:
    """(row, outcome, case number, column, why) of every row handled, in the file's order."""
    rows = session.execute(
        sa.select(ImportRow, Beneficiary.case_number)
        .outerjoin(Beneficiary, Beneficiary.id == ImportRow.beneficiary_id)
        .where(ImportRow.batch_id == batch.id)
        .order_by(ImportRow.row)
    )
    return [
        (r.row, str(OUTCOMES.get(r.outcome, r.outcome)), case or "", r.column or "", r.message or "")
        for r, case in rows
    ]


def imported_ids(batch: ImportBatch) -> list[int]:
    return list(
        session.scalars(
            sa.select(ImportRow.beneficiary_id).where(
                ImportRow.batch_id == batch.id, ImportRow.outcome == "imported", ImportRow.beneficiary_id.is_not(None)
            )
        )
    )


def touched(batch: ImportBatch) -> list[int]:
    """The people of a batch someone worked on since (an edit, a consent, a case, a hand-over, a referral,
    a stay elsewhere, someone joining their household…): while there is one, the batch cannot be undone."""
    ids = imported_ids(batch)
    if not ids:
        return []
    out: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out |= _touched(chunk, set(ids))
    return sorted(out)


def _touched(ids: list[int], batch_ids: set[int]) -> set[int]:
    found: set[int] = set()
    people = list(session.scalars(sa.select(Beneficiary).where(Beneficiary.id.in_(ids))))
    found |= {p.id for p in people if p.updated_at is not None or p.merged_into_id is not None or p.is_erased}
    found |= set(
        session.scalars(
            sa.select(BeneficiaryChange.beneficiary_id).where(
                BeneficiaryChange.beneficiary_id.in_(ids), BeneficiaryChange.action != "registered"
            )
        )
    )
    found |= set(
        session.scalars(
            sa.select(Stay.beneficiary_id)
            .where(Stay.beneficiary_id.in_(ids))
            .group_by(Stay.beneficiary_id)
            .having(sa.func.count() > 1)
        )
    )
    households = {p.household_id: p.id for p in people if p.household_id is not None}
    for member_id, household_id in session.execute(
        sa.select(Beneficiary.id, Beneficiary.household_id).where(Beneficiary.household_id.in_(households))
    ):
        if member_id not in batch_ids and household_id is not None:
            found.add(households[household_id])
    for table in Base.metadata.sorted_tables:
        if table.name in _IMPORT_WRITES:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "beneficiaries" and fk.column.name == "id":
                found |= set(session.scalars(sa.select(fk.parent).where(fk.parent.in_(ids))))
    return found


def undo(user: Actor, batch: ImportBatch) -> int:
    """Remove the people a batch registered, as if never imported (their counts on the dashboards too),
    while none of them was worked on since. Returns how many."""
    _check_state(batch, BatchState.DONE)
    changed = touched(batch)
    if changed:
        raise ImportError_(
            _l(
                "%(n)d people of this import were worked on since (an edit, a consent, a case, a hand-over…): "
                "it can no longer be undone.",
                n=len(changed),
            )
        )
    ids = imported_ids(batch)
    for start in range(0, len(ids), 200):
        _remove(ids[start : start + 200])
    session.execute(sa.update(ImportRow).where(ImportRow.batch_id == batch.id).values(beneficiary_id=None))
    batch.state = BatchState.UNDONE
    batch.undone_at = utcnow()
    batch.undone_by_id = user.id
    audit.record("import.undo", object_type="import", object_id=batch.id, detail=str(len(ids)))
    return len(ids)


def _remove(ids: list[int]) -> None:
    """Delete imported records through the session, so the dashboards' counts follow (a person, their
    household, their stay), and take back the month they counted as served."""
    marks = list(session.scalars(sa.select(ServedMonth).where(ServedMonth.beneficiary_id.in_(ids))))
    cube.change(session, [(cube.served_fact(m.centre_id, m.month), 1, 0) for m in marks], [])
    session.execute(sa.delete(ServedMonth).where(ServedMonth.beneficiary_id.in_(ids)))
    for stay in session.scalars(sa.select(Stay).where(Stay.beneficiary_id.in_(ids))):
        session.delete(stay)
    session.execute(sa.delete(BlindIndexEntry).where(BlindIndexEntry.beneficiary_id.in_(ids)))
    for pid in ids:
        duplicates.forget(pid)
    people = list(session.scalars(sa.select(Beneficiary).where(Beneficiary.id.in_(ids))))
    households = {p.household for p in people if p.household is not None}
    for person in people:
        person.data_key.destroy()
        session.delete(person)
    session.flush()
    for household in households:
        session.refresh(household)
        if not household.members:
            session.delete(household)
    session.flush()
