"""Importing an existing list: upload (read in memory, held encrypted), map its columns and values, check
every row by the registration's rules and find its duplicates (the preview, a job), decide per duplicate,
import as a job in committed batches that resumes where it stopped, report, and undo while untouched.

Every row goes through the registration service (encryption, blind indexes, consent, household, audit,
the dashboards' counts). A bad row never stops the good ones: it is refused with the column and why."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries import duplicates, regional
from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange, BlindIndexEntry, Household
from msc.centres.models import Centre
from msc.centres.stays import Stay
from msc.crypto import DataKey
from msc.crypto.blind import MAX_PAIRED_WORDS, fold, name_words, normalise_document, pair_keys
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
from msc.security.policy import in_scope, scope_filter
from msc.urls import parse_id

#: rows registered together, between two commits (the job resumes from the last one); a household is
#: never split between two
BATCH = 500
CHECK = "imports.check"
RUN = "imports.run"
#: people registered since the preview compared with a chunk's rows in memory, at most (else the duplicate
#: check looks for them)
COMPARED_SINCE = 200
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
FOUND_SINCE = _l("May already be registered (found while importing): check at the desk.")
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
    #: earlier rows of the list that may be the same person (kept as pairs when both are imported)
    alike: list[tuple[int, list[str]]] | None = None

    @property
    def needs_decision(self) -> bool:
        """A possible duplicate the user decides on (skip, link or new)."""
        return self.same_as is not None or bool(self.candidates or self.document or self.elsewhere)


#: rows whose duplicates are looked for together
CHECK_CHUNK = 500


def check(user: Actor, batch: ImportBatch, progress) -> dict[str, int]:
    """The preview of a batch (run by its job): each row read through the mapping and checked by the
    registration's rules, households ordered head first, duplicates found within the file and against
    the registry (a chunk of rows at a time). Returns the counts."""
    table, config = batch.table, batch.settings
    centre = session.get_one(Centre, batch.centre_id)
    today = clock.today_at(centre)
    since = session.scalar(sa.select(sa.func.max(Beneficiary.id))) or 0
    rows = [mapping.read_row(config, table["columns"], cells) for cells in table["rows"]]
    findings = [Finding(errors=dict(row.errors)) for row in rows]
    valid: list[tuple[int, dt.date]] = []
    for i, row in enumerate(rows):
        if row.person is None:
            continue
        try:
            dob, _ = reception.validate_person(row.person, today)
            reception.entry_point_of(centre.country, row.person.entry_point)
        except RuleError as err:
            findings[i].errors[_column(row, err.field)] = str(err.message)
        else:
            valid.append((i, dob))
    in_file = InFile(centre.country)
    for start in range(0, len(valid), CHECK_CHUNK):
        part = valid[start : start + CHECK_CHUNK]
        results = duplicates.find_many(user, [(_person(rows[i]), dob) for i, dob in part], centre.country)
        for (i, dob), result in zip(part, results):
            _duplicates(user, rows[i], dob, findings[i], result, in_file.compare(i, _person(rows[i]), dob))
        regional.record_shown("import", [hint for result in results for hint in result.hints])
        progress(part[-1][0] + 1, len(rows))
    order, household_errors = _order(rows)
    for i, message in household_errors.items():
        column = rows[i].columns.get("relationship") or rows[i].columns.get("household") or ""
        findings[i].errors.setdefault(column, message)
    found = {i: f for i, f in enumerate(findings) if f.errors or f.needs_decision}
    batch.findings = {
        "rows": {str(i): _finding_json(f) for i, f in found.items()},
        "order": order,
        "decisions": {str(i): "skip" for i, f in found.items() if not f.errors},
        "alike": {str(i): f.alike for i, f in enumerate(findings) if f.alike and not f.errors},
        "since": since,
    }
    batch.state = BatchState.CHECKED
    counts = summary(batch)
    audit.record("import.check", object_type="import", object_id=batch.id, detail=_counts_detail(counts))
    return counts


def _person(row: mapping.Row) -> reception.PersonData:
    assert row.person is not None
    return row.person


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


def _duplicates(
    user: Actor,
    row: mapping.Row,
    dob: dt.date,
    finding: Finding,
    result: duplicates.Found,
    in_file: tuple[int | None, list[tuple[int, list[str]]]],
) -> None:
    finding.same_as, finding.alike = in_file
    holder = result.document
    if holder is not None:
        if not in_scope(user, holder.centre_id) or holder.is_erased or holder.merged_into_id is not None:
            finding.errors[_column(row, "document_number")] = str(
                _l("This document number is already registered at another centre. Ask a caseworker to look into it.")
            )
            return
        finding.document = holder.id
    finding.candidates = [
        (c.beneficiary.id, list(c.reasons)) for c in result.candidates if c.beneficiary.id != finding.document
    ]
    finding.elsewhere = [(h.country, h.registered_month.strftime("%Y-%m"), list(h.reasons)) for h in result.hints]


class InFile:
    """The rows of a list read so far, compared with each next row in memory: the earlier row it repeats
    (the same document, or the same names and date of birth), and the earlier rows that may be the same
    person for the reasons the registry's check gives (the same date of birth and a name alike, the names
    spelt or sounding alike, the same phone): those are kept as pairs for the desks to look at."""

    def __init__(self, country: str):
        self.country = country
        self.documents: dict[str, int] = {}
        self.people: dict[tuple[str, str, str], int] = {}
        self.rows: dict[int, SimpleNamespace] = {}
        self.by_dob: dict[dt.date, list[int]] = defaultdict(list)
        self.by_phone: dict[str, list[int]] = defaultdict(list)
        #: (a given name's key, a family name's key) and (…, two family names' keys) -> rows
        self.by_name: dict[tuple[str, ...], list[int]] = defaultdict(list)

    def compare(self, i: int, person: reception.PersonData, dob: dt.date) -> tuple[int | None, list]:
        """(the earlier row this one repeats, [(earlier row, reasons)] of those alike, best first); then the
        row joins those read."""
        document = normalise_document(person.document_number or "")
        key = (fold(person.given_names), fold(person.family_names), dob.isoformat())
        earlier = self.documents.get(document) if document else None
        if earlier is None:
            earlier = self.people.get(key)
        sought = duplicates.Sought.of(person, dob, self.country)
        near = set(self.by_dob.get(dob, ()))
        if sought.phone:
            near.update(self.by_phone.get(sought.phone, ()))
        given = [pair_keys(word) for word in sought.first_given]
        family = list(dict.fromkeys(pair_keys(word) for word in sought.family_tokens))
        if given and family:  # the first given name and the first two family names, spelt or sounding alike
            keys: list[tuple[str, ...]]
            if len(family) == 1:
                keys = [(a, b) for a in given[0] for b in family[0]]
            else:
                keys = [(a, min(b, c), max(b, c)) for a in given[0] for b in family[0] for c in family[1]]
            # among the latest rows holding the name, as the registry's check reads its latest holders
            named = {j for key in keys for j in self.by_name.get(key, ())[-duplicates.MAX_ALIKE :]}
            near.update(sorted(named)[-duplicates.MAX_ALIKE :])
        alike = []
        for j in near - {earlier}:
            total, reasons = sought.reasons(self.rows[j])
            if reasons:
                alike.append((len(reasons), total, j, reasons))
        alike.sort(key=lambda t: (-t[0], -t[1], -t[2]))
        if document:
            self.documents.setdefault(document, i)
        self.people.setdefault(key, i)
        self._add(i, person, dob, sought.phone)
        return earlier, [(j, reasons) for _, _, j, reasons in alike[: duplicates.MAX_CANDIDATES]]

    def _add(self, i: int, person: reception.PersonData, dob: dt.date, phone: str) -> None:
        # the names' words, read once: each row is compared with many (name_score takes them as they are)
        self.rows[i] = SimpleNamespace(
            given_names=tuple(name_words(person.given_names)),
            family_names=tuple(name_words(person.family_names)),
            full_name=tuple(name_words(f"{person.given_names} {person.family_names}")),
            date_of_birth=dob,
            phone=person.phone,
            centre=SimpleNamespace(country=self.country),
        )
        self.by_dob[dob].append(i)
        if phone:
            self.by_phone[phone].append(i)
        given = [pair_keys(word) for word in name_words(person.given_names)[:MAX_PAIRED_WORDS]]
        family = [pair_keys(word) for word in name_words(person.family_names)[:MAX_PAIRED_WORDS] if not word.part]
        for g in given:
            for a in g:
                for n, first in enumerate(family):
                    for b in first:
                        self._hold((a, b), i)
                        for second in family[n + 1 :]:
                            for c in second:
                                self._hold((a, min(b, c), max(b, c)), i)

    def _hold(self, key: tuple[str, ...], i: int) -> None:
        rows = self.by_name[key]
        if not rows or rows[-1] != i:  # (a word's two keys lead to one key of the name)
            rows.append(i)


def _order(rows: list[mapping.Row]) -> tuple[list[int], dict[int, str]]:
    """The import's order: each household's head before its members (the head is the row saying so, else
    the household's first row); the rows of a household that names two heads are refused after the first."""
    heads: dict[str, int] = {}
    errors: dict[int, str] = {}
    for i, row in enumerate(rows):
        if row.household and row.relationship == "head":
            if row.household in heads:
                errors[i] = str(TWO_HEADS)
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
            if parse_id(target) not in allowed:
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
    """Import the rows of a batch from where it stopped, BATCH rows at a time (a household never split
    between two), committing each with its progress. When the last row is done, the rows held for it are
    destroyed with their key."""
    table, findings, config = batch.table, batch.findings, batch.settings
    centre = session.get_one(Centre, batch.centre_id)
    state = _Run(user, batch, centre, table["columns"], table["rows"], config, findings)
    order: list[int] = findings["order"]
    while batch.done_rows < len(order):
        end = state.chunk_end(order, batch.done_rows)
        outcomes = state.import_rows(order[batch.done_rows : end])
        session.execute(sa.insert(ImportRow), [_values(outcome) for outcome in outcomes])
        for outcome in outcomes:
            setattr(batch, outcome.outcome, getattr(batch, outcome.outcome) + 1)
        batch.done_rows = end
        progress(batch.done_rows, len(order))  # commits the rows so far with where to resume
    batch.state = BatchState.DONE
    batch.finished_at = utcnow()
    batch.table = None
    batch.findings = None
    batch.data_key.destroy()
    counts = {k: getattr(batch, k) for k in ("imported", "linked", "skipped", "refused", "without_consent")}
    audit.record("import.done", object_type="import", object_id=batch.id, detail=_counts_detail(counts))
    return counts


def _values(row: ImportRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ("batch_id", "row", "outcome", "beneficiary_id", "column", "message")}


class _Run:
    """An import under way: the list's households begun, the records its rows became, and the people
    registered since the preview by others (a row that may be one of them is not imported)."""

    def __init__(self, user, batch, centre, columns, cells, config, findings):
        self.user, self.batch, self.centre = user, batch, centre
        self.columns, self.cells, self.config, self.findings = columns, cells, config, findings
        self.today = clock.today_at(centre)
        #: the list's household -> (its household, the head's full name)
        self.households: dict[str, tuple[Household, str]] = {}
        #: row index -> the record it became (imported or linked)
        self.records: dict[int, int] = {}
        done = session.execute(
            sa.select(ImportRow.row, Beneficiary)
            .join(Beneficiary, Beneficiary.id == ImportRow.beneficiary_id)
            .where(ImportRow.batch_id == batch.id, ImportRow.outcome.in_(("imported", "linked")))
        )
        for row_number, person in done:  # a run resumed after a stop
            self.records[row_number - 2] = person.id
            row = self.read(row_number - 2)
            if row.household and row.household not in self.households and person.household is not None:
                self.households[row.household] = (person.household, person.full_name)
        #: the last record id looked at, from the preview's start on; the records others registered since
        self.seen = (int(findings.get("since") or 0),) * 2
        self.arrived: set[int] = set()
        self.others: dict[int, Beneficiary] = {}

    def read(self, i: int) -> mapping.Row:
        return mapping.read_row(self.config, self.columns, self.cells[i])

    def chunk_end(self, order: list[int], position: int) -> int:
        """Where the chunk starting at `position` ends: after BATCH rows, at the end of a household."""
        end = min(position + BATCH, len(order))
        last = self.read(order[end - 1]).household if end < len(order) else None
        while last and end < len(order) and self.read(order[end]).household == last:
            end += 1
        return end

    def import_rows(self, indexes: list[int]) -> list[ImportRow]:
        """The rows of one chunk: refused, skipped and linked as the preview and the decisions say, the
        others registered together."""
        outcomes: dict[int, ImportRow] = {}
        items: list[tuple[int, mapping.Row, reception.Registration]] = []
        waiting: list[tuple[int, mapping.Row, str]] = []
        for i in indexes:
            number = i + 2
            f = self.findings["rows"].get(str(i), {})
            if f.get("errors"):
                column, message = sorted(f["errors"].items())[0]
                outcomes[i] = ImportRow(
                    batch_id=self.batch.id, row=number, outcome="refused", column=column, message=message
                )
                continue
            kind, _, target = self.findings["decisions"].get(str(i), "").partition(":")
            row = self.read(i)
            if kind == "skip":
                outcomes[i] = ImportRow(batch_id=self.batch.id, row=number, outcome="skipped", message=str(SKIPPED))
            elif kind == "link":
                outcomes[i] = self._link(i, row, int(target))
            else:
                waiting.append((i, row, kind))
        found = self._found_since([(i, row) for i, row, _ in waiting])
        for i, row, kind in waiting:
            if i in found:
                outcomes[i] = ImportRow(batch_id=self.batch.id, row=i + 2, outcome="skipped", message=str(FOUND_SINCE))
            else:
                f = self.findings["rows"].get(str(i), {})
                items.append((i, row, self._registration(i, row, f, kind == "new")))
        registered = reception.register_many(self.user, self.centre, [item for _, _, item in items])
        for (i, row, item), result in zip(items, registered):
            if isinstance(result, RuleError):
                outcomes[i] = ImportRow(
                    batch_id=self.batch.id,
                    row=i + 2,
                    outcome="refused",
                    column=_column(row, result.field),
                    message=str(result.message),
                )
                continue
            self.records[i] = result.id
            if item.consent_unrecorded:
                self.batch.without_consent += 1
            outcomes[i] = ImportRow(batch_id=self.batch.id, row=i + 2, outcome="imported", beneficiary_id=result.id)
        self._keep_list_pairs([i for i, _, _ in items if i in self.records])
        return [outcomes[i] for i in indexes]

    def _link(self, i: int, row: mapping.Row, target: int) -> ImportRow:
        linked = session.get(Beneficiary, target)
        if linked is None or not in_scope(self.user, linked.centre_id) or linked.is_erased:
            return ImportRow(batch_id=self.batch.id, row=i + 2, outcome="skipped", message=str(LINK_GONE))
        if row.household and row.household not in self.households and linked.household is not None:
            self.households[row.household] = (linked.household, linked.full_name)
        self.records[i] = linked.id
        return ImportRow(batch_id=self.batch.id, row=i + 2, outcome="linked", beneficiary_id=linked.id)

    def _registration(self, i: int, row: mapping.Row, f: dict[str, Any], new: bool) -> reception.Registration:
        """What registers a row: its household (the list's, begun by an earlier row, or a new one), its
        consents, and the pairs the preview found (answered "not the same person" when decided new)."""
        person = _person(row)
        joined = self.households.get(row.household or "")
        consents, unrecorded = _consents(row, self.centre, joined[1] if joined else None)
        if joined is None:
            household = Household(centre_id=self.centre.id)
            if row.household:
                self.households[row.household] = (household, f"{person.given_names} {person.family_names}")
            relationship = "head"
        else:
            household = joined[0]
            relationship = row.relationship if row.relationship and row.relationship != "head" else "other_relative"
        candidates = {pid: reasons for pid, reasons in f.get("candidates", [])}
        return reception.Registration(
            person,
            consents,
            household=household,
            relationship=relationship,
            pairs=candidates,
            acknowledged=set(candidates) if new else set(),
            consent_unrecorded=unrecorded,
        )

    def _keep_list_pairs(self, indexes: list[int]) -> None:
        """Keep the pairs the preview found between rows of the list, once both are records; and a row
        decided "new" though it repeats an earlier one is answered "not the same person"."""
        pairs: dict[int, dict[int, list[str]]] = {}
        for i in indexes:
            for j, reasons in self.findings.get("alike", {}).get(str(i), []):
                if j in self.records:
                    pairs.setdefault(self.records[i], {})[self.records[j]] = reasons
            same_as = self.findings["rows"].get(str(i), {}).get("same_as")
            if same_as is not None and same_as in self.records:
                reception.remember_not_same(self.user, self.records[i], self.records[same_as])
        duplicates.keep_pairs(pairs)

    def _found_since(self, rows: list[tuple[int, mapping.Row]]) -> set[int]:
        """The rows someone registered in reach since the preview (by others than this import) may be: the
        few registered since compared in memory, decrypted once; many, through the duplicate check."""
        registered = set(
            session.scalars(
                sa.select(Beneficiary.id).where(
                    Beneficiary.id > self.seen[0],
                    Beneficiary.merged_into_id.is_(None),
                    scope_filter(self.user, Beneficiary.centre_id),
                )
            )
        )
        # the next chunk reads what came after the record last seen a chunk ago: a desk's registration
        # that drew its id before this read and committed after it is read then (PostgreSQL's ids are not
        # committed in order)
        self.seen = (self.seen[1], max(registered, default=self.seen[1]))
        self.arrived |= registered - set(self.records.values())
        arrived = self.arrived
        if not arrived or not rows:
            return set()
        people = [(i, _person(row), _person(row).birth_date(self.today)[0]) for i, row in rows]
        if len(arrived) > COMPARED_SINCE:
            found = duplicates.find_many(self.user, [(p, dob) for _, p, dob in people], self.centre.country)
            return {
                i
                for (i, _, _), result in zip(people, found)
                if any(c.beneficiary.id in arrived for c in result.candidates)
            }
        new = arrived - self.others.keys()
        if new:
            stmt = sa.select(Beneficiary).where(Beneficiary.id.in_(new)).options(so.lazyload(Beneficiary.needs))
            self.others.update((p.id, p) for p in session.scalars(stmt))
        others = [self.others[pid] for pid in sorted(arrived) if pid in self.others and not self.others[pid].is_erased]
        found_here = set()
        for i, person, dob in people:
            sought = duplicates.Sought.of(person, dob, self.centre.country)
            if any(sought.reasons(other)[1] for other in others):
                found_here.add(i)
        return found_here


def _consents(row: mapping.Row, centre: Centre, guardian: str | None) -> tuple[list, bool]:
    """The consents to record, and whether the person comes without a recorded consent: a list that
    recorded none, or a child's whose guardian the list does not name (the household's head)."""
    if row.unrecorded or row.person is None:
        return [], True
    today = clock.today_at(centre)
    dob, _ = row.person.birth_date(today)
    age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
    consents = list(row.consents)
    if age < reception.ADULT_AGE:
        if guardian is None:
            return [], True
        for c in consents:
            c.given_by, c.guardian_name = "guardian", guardian
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
