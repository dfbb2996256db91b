"""Reception views: thin — parse the form, call the service, render."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from msc import clock, sections
from msc.beneficiaries import corrections, duplicates, merge, service, vocab
from msc.beneficiaries import search as search_service
from msc.beneficiaries.access import load_beneficiary
from msc.beneficiaries.forms import ConsentForm, MergeForm, PersonForm, RegistrationForm, SearchForm
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange, Consent, Household
from msc.db import read_mostly, session
from msc.errors import RuleError, show_on_form
from msc.forms import ConfirmForm, form_status, rule_on_form
from msc.qr import qr_svg
from msc.security import audit
from msc.security.emergency import REASONS, running_grant
from msc.security.models import User
from msc.security.policy import Permission, active_centres_of, authenticated, can, check_scope, in_scope, requires
from msc.urls import parse_id

bp = Blueprint("beneficiaries", __name__)


@bp.get("/")
@authenticated
def home():
    """The landing page, each role's work: what every feature shows the user today (their tasks, what waits
    for them, their centre), the admin index for admins, and the search box for the desk."""
    if can(current_user, Permission.ADMIN_USERS):
        return redirect(url_for("admin.index"))
    today = clock.viewer_today(current_user)
    found = sections.home(current_user, today)
    if not found and can(current_user, Permission.SEARCH):
        return render_template("reception/search.html", form=SearchForm(), result=None)
    return render_template("home.html", sections=found, today=today)


@bp.route("/search", methods=["GET", "POST"])
@read_mostly
@requires(Permission.SEARCH)
def search():
    """Search first (POST: the terms never reach a URL or an access log; GET: the empty box)."""
    form = SearchForm()
    if request.method == "GET":
        return render_template("reception/search.html", form=form, result=None)
    if not form.validate_on_submit():
        return render_template("reception/search.html", form=form, result=None), form_status(form)
    try:
        page = int(form.page.data or 1)
    except ValueError:
        page = 1
    status = 200
    if form.narrow.data:
        # narrowing a crowded page: its words join the query in the box, and the search starts again
        try:
            form.q.data, page = search_service.narrowed(form.q.data, form.narrow.data), 1
            form.narrow.data = ""
        except RuleError as err:
            form.narrow.errors, status = [err.message], 422  # the crowded page again, with the reason
    try:
        result = search_service.search(current_user, form.q.data, page=page)
    except RuleError as err:
        form.q.errors = [err.message]  # the search's no goes on the box the terms were typed in
        return render_template("reception/search.html", form=form, result=None), form_status(form)
    if result.exact is not None:
        return redirect(url_for("beneficiaries.profile", uid=result.exact.uid))
    html = render_template(
        "reception/search.html", form=form, result=result, may_register=can(current_user, Permission.REGISTER)
    )
    return html, status


@bp.route("/register", methods=["GET", "POST"])
@requires(Permission.REGISTER)
def register():
    """Register a person (or a household member) with consent, after a duplicate check."""
    centres = active_centres_of(current_user)
    if not centres:
        flash(_("You are not assigned to a centre, so you cannot register people."), "error")
        return redirect(url_for("beneficiaries.home"))
    form = RegistrationForm()
    countries = sorted({c.country for c in centres})
    form.set_entry_points(service.entry_point_choices(countries), several_countries=len(countries) > 1)
    if request.method == "GET" and request.args.get("household"):
        member = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == request.args["household"]))
        if member is not None:
            check_scope(current_user, member.centre_id)
            form.household_mode.data = "join"
            form.household_case_number.data = member.case_number
            form.relationship.data = "child"
            form.nationality.data = member.nationality
            form.family_names.data = member.family_names
            guardian = service.household_guardian(member, clock.today(member.centre.country))
            if guardian is not None:  # a child joining the household: consent from its head, their guardian
                form.given_by.data = "guardian"
                form.guardian_name.data = guardian.full_name
    centre_id = parse_id(request.form.get("centre_id")) or centres[0].id
    centre = next((c for c in centres if c.id == centre_id), centres[0])
    candidates, hints = [], []
    if form.validate_on_submit():
        acknowledged = {n for x in (form.acknowledged.data or "").split(",") if (n := parse_id(x)) is not None}
        choice = form.household_choice()
        try:
            person = service.register(
                current_user,
                centre,
                form.person_data(form.needs.data or []),
                form.consent_data(),
                choice,
                acknowledged,
                hints_seen=form.hints_seen.data == "1",
            )
        except RuleError as err:
            show_on_form(form, err)
        except service.PossibleDuplicates as dup:
            candidates, hints = dup.candidates, dup.hints
            form.acknowledged.data = ",".join(str(c.beneficiary.id) for c in candidates)
            if hints:
                form.hints_seen.data = "1"
                g.commit_on_error = True  # keep the audit record of the hints shown (nothing else was written)
        else:
            flash(_("Registered with case number %(case)s.", case=person.case_number), "success")
            return redirect(url_for("beneficiaries.profile", uid=person.uid))
    # Possible duplicates come back to be looked at before saving: nothing of this attempt is kept.
    status = 422 if candidates or hints else form_status(form)
    return render_template(
        "reception/register.html",
        form=form,
        centres=centres,
        centre=centre,
        candidates=candidates,
        hints=hints,
        vocab=vocab,
    ), status


#: what the profile reads of a person, loaded with them: the consents with who recorded them (without that
#: user's centres), the household with its members (without their needs, nor their centres: the page does
#: not show them). Each lazy load is a round trip to the database: on PostgreSQL these three fewer are worth
#: more than their SQL.
PROFILE_LOADS = (
    so.selectinload(Beneficiary.consents).joinedload(Consent.recorded_by).lazyload(User.centres),
    so.joinedload(Beneficiary.household)
    .selectinload(Household.members)
    .options(so.lazyload(Beneficiary.needs), so.lazyload(Beneficiary.centre)),
    # in the person's own row: two round trips fewer on PostgreSQL
    so.joinedload(Beneficiary.needs),
    so.joinedload(Beneficiary.entry_point_place),
)


@bp.get("/b/<uid>")
@read_mostly
@requires(Permission.VIEW)
def profile(uid: str):
    """What the role may see of one person; every view is audited. Reached through an emergency access,
    the page is read-only and shows only what the access's reason needs."""
    person = load_beneficiary(uid, emergency_read=True, former_read=True, options=PROFILE_LOADS, merged=True)
    if person.merged_into_id is not None:
        return _merged_away(person)
    if not in_scope(current_user, person.centre_id):
        return _emergency_view(person)
    audit.record("beneficiary.view", object_type="beneficiary", object_id=person.id)
    may_sensitive = can(current_user, Permission.VIEW_SENSITIVE)
    history = list(
        session.scalars(
            sa.select(BeneficiaryChange)
            .where(BeneficiaryChange.beneficiary_id == person.id)
            .order_by(BeneficiaryChange.at.desc())
            .limit(50)
        )
    )
    # the pairs found at registration, at the last edit or the last check (not a search on every open)
    may_merge = can(current_user, Permission.MERGE)
    possible = duplicates.stored(current_user, person.id) if can(current_user, Permission.EDIT) or may_merge else []
    merged_from = merge.latest_merge_into(person) if may_merge else None
    return render_template(
        "reception/profile.html",
        person=person,
        may_sensitive=may_sensitive,
        consents=service.current_consents(person),
        history=history,
        possible=possible,
        consent_form=ConsentForm(prefix="consent"),
        **sections.context(sections.PROFILE, current_user, person),
        dup_form=ConfirmForm(),
        may_merge=may_merge,
        merged_from=merged_from,
        undo_refusal=merge.undo_refusal(merged_from) if merged_from else None,
        vocab=vocab,
        today=clock.today_at(person.centre),
    )


def _merged_away(person: Beneficiary):
    """A record merged into another: those who reach the kept record are sent to it, with a word."""
    kept = session.get(Beneficiary, person.merged_into_id)
    if kept is None or not in_scope(current_user, kept.centre_id):
        abort(404)
    audit.record("beneficiary.view", object_type="beneficiary", object_id=person.id, detail="merged")
    flash(_("Case %(old)s was merged into case %(case)s.", old=person.case_number, case=kept.case_number), "info")
    return redirect(url_for("beneficiaries.profile", uid=kept.uid))


def _emergency_view(person: Beneficiary):
    """The read-only page of an emergency access: the parts its reason needs, no button that changes,
    prints or hands out anything (and those routes refuse the access anyway)."""
    grant = running_grant(current_user.id, person.id)
    if grant is None:
        return _former_view(person)
    audit.record("beneficiary.view", object_type="beneficiary", object_id=person.id, detail=f"emergency:{grant.uid}")
    return render_template(
        "reception/emergency.html",
        person=person,
        grant=grant,
        sections=grant.sections,
        reasons=REASONS,
        end_form=ConfirmForm(),
        vocab=vocab,
        today=clock.today_at(person.centre),
    )


#: what a centre that served the person before their record moved on still reads of the profile
FORMER_SECTIONS = frozenset({"identity", "languages", "needs", "household"})


def _former_view(person: Beneficiary):
    """The read-only page for a centre that served the person before their record moved to another centre
    (load_beneficiary let the person through on that alone)."""
    audit.record("beneficiary.view", object_type="beneficiary", object_id=person.id, detail="former_centre")
    return render_template(
        "reception/emergency.html",
        person=person,
        grant=None,
        sections=FORMER_SECTIONS,
        reasons=REASONS,
        end_form=ConfirmForm(),
        vocab=vocab,
        today=clock.today_at(person.centre),
        **sections.context(sections.FORMER_PROFILE, current_user, person),
    )


@bp.route("/b/<uid>/edit", methods=["GET", "POST"])
@requires(Permission.EDIT)
def edit(uid: str):
    """Correct a person's data; the history keeps who changed which fields when."""
    person = load_beneficiary(uid)
    correction = _pending_correction(person, request.args.get("correction"))
    may_sensitive = can(current_user, Permission.VIEW_SENSITIVE)
    form = PersonForm(show_sensitive=may_sensitive, today=clock.today_at(person.centre))
    form.set_entry_points(service.entry_point_choices([person.centre.country], keep_id=person.entry_point_id))
    if request.method == "GET":
        form.process(
            obj=None,
            data={
                "given_names": person.given_names,
                "family_names": person.family_names,
                "sex": person.sex,
                "date_of_birth": None if person.dob_estimated else person.date_of_birth,
                "estimated_age": person.age_on(form.today) if person.dob_estimated else None,
                "nationality": person.nationality,
                "document_type": person.document_type,
                "document_number": person.document_number,
                "phone": person.phone,
                "arrival_date": person.arrival_date,
                "entry_point": person.entry_point or "",
                "languages": person.language_codes,
                "needs": person.need_codes + (list(person.sensitive_needs or []) if may_sensitive else []),
            },
        )
    elif form.validate_on_submit():
        needs = service.keep_hidden_needs(person, form.needs.data or [], may_sensitive)
        try:
            changed = service.update(current_user, person, form.person_data(needs))
        except RuleError as err:
            show_on_form(form, err)
        else:
            if changed and correction is not None:
                corrections.applied(current_user, correction, changed)
            flash(_("Saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("beneficiaries.profile", uid=person.uid))
    return render_template("reception/edit.html", form=form, person=person, correction=correction), form_status(form)


def _pending_correction(person: Beneficiary, correction_uid: str | None):
    """The pending correction request of this person the edit answers, if the link named one."""
    if not correction_uid:
        return None
    return next((r for r in corrections.pending(person) if r.uid == correction_uid), None)


@bp.post("/b/<uid>/consent")
@requires(Permission.CONSENT)
def consent(uid: str):
    """Record a consent decision, or withdraw consent (takes effect at once)."""
    person = load_beneficiary(uid)
    form = ConsentForm(prefix="consent")
    if form.validate_on_submit():
        data = service.ConsentData(
            purpose=form.purpose.data,
            status=form.status.data,
            legal_basis=form.legal_basis.data,
            method=form.method.data,
            given_by=form.given_by.data,
            guardian_name=form.guardian_name.data or None,
            best_interests_note=form.best_interests_note.data or None,
        )
        with rule_on_form(form):
            service.record_consent(current_user, person, data)
            flash(_("Consent recorded."), "success")
            return redirect(url_for("beneficiaries.profile", uid=person.uid) + "#consent")
    return render_template("reception/consent.html", person=person, form=form), form_status(form)


@bp.post("/b/<uid>/not-duplicate/<other_uid>")
@requires(Permission.EDIT)
def not_duplicate(uid: str, other_uid: str):
    """Remember that two records are different people."""
    person = load_beneficiary(uid)
    other = load_beneficiary(other_uid)
    if ConfirmForm().validate_on_submit():
        service.remember_not_same(current_user, person.id, other.id)
        flash(_("Noted: these are different people."), "success")
    return redirect(url_for("beneficiaries.profile", uid=person.uid))


@bp.post("/b/<uid>/duplicates")
@requires(Permission.EDIT)
def check_duplicates(uid: str):
    """Search again for people who may be this person, and keep what is found."""
    person = load_beneficiary(uid)
    if ConfirmForm().validate_on_submit():
        found = service.check_duplicates_again(current_user, person)
        if found:
            flash(_("Checked again: the possible duplicates are listed below."), "success")
        else:
            flash(_("Checked again: no possible duplicates found."), "success")
    return redirect(url_for("beneficiaries.profile", uid=person.uid) + "#possible")


@bp.get("/b/<uid>/card")
@requires(Permission.CARD)
def card(uid: str):
    """The printable beneficiary card: case number and a QR code of an opaque token, no personal data."""
    person = load_beneficiary(uid)
    audit.record("beneficiary.card", object_type="beneficiary", object_id=person.id)
    return render_template("reception/card.html", person=person, qr_svg=qr_svg(person.card_token))


@bp.route("/b/<uid>/merge/<other_uid>", methods=["GET", "POST"])
@requires(Permission.MERGE)
def merge_records(uid: str, other_uid: str):
    """Merge another record of the same person (`other_uid`) into this one: both side by side, what is
    kept, a reason; the POST merges."""
    person = load_beneficiary(uid)
    other = load_beneficiary(other_uid)
    form = MergeForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            merge.merge(
                current_user, person, other, form.reason.data, confirm_different=bool(form.confirm_different.data)
            )
            flash(_("Case %(old)s was merged into this record.", old=other.case_number), "success")
            return redirect(url_for("beneficiaries.profile", uid=person.uid))
    audit.record("beneficiary.view", object_type="beneficiary", object_id=other.id, detail="merge")
    return render_template(
        "reception/merge.html",
        person=person,
        other=other,
        form=form,
        marked_different=merge.marked_different(person, other),
        vocab=vocab,
        today=clock.today_at(person.centre),
    ), form_status(form)


@bp.post("/b/<uid>/unmerge")
@requires(Permission.MERGE)
def unmerge_records(uid: str):
    """Undo the last merge into this record, while nothing changed since."""
    person = load_beneficiary(uid)
    record = merge.latest_merge_into(person)
    if record is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            merge.unmerge(current_user, record)
        except RuleError as err:
            flash(err.message, "error")
        else:
            flash(
                _("The merge was undone: case %(old)s is a record of its own again.", old=record.absorbed.case_number),
                "success",
            )
    return redirect(url_for("beneficiaries.profile", uid=person.uid))
