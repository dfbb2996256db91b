"""The administrator's pages for the API: service accounts (a role and a reach, like a person's account,
without a password) and their tokens (issued with the secret shown once, revoked at once); partner
organisations' webhooks (the signing secret shown once) and their delivery log."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from msc.admin import service as admin_service
from msc.admin.forms import ROLE_LABELS, SCOPE_LABELS, account_fields, account_form
from msc.api import tokens, webhooks
from msc.api.forms import ServiceAccountForm, TokenForm, WebhookForm
from msc.api.models import ApiToken, WebhookDelivery, WebhookSubscription
from msc.db import session, utcnow
from msc.errors import DomainError
from msc.forms import ConfirmForm, form_status, rule_on_form, show_on_form
from msc.partners.models import Organisation
from msc.security.models import User
from msc.security.policy import Permission, requires

bp = Blueprint("api_admin", __name__)


def _account(user_id: int) -> User:
    account = session.get(User, user_id)
    if account is None or not account.service_account:
        abort(404)
    return account


@bp.get("/")
@requires(Permission.ADMIN_USERS)
def accounts():
    """Every service account, with its reach and how many of its tokens work."""
    rows = list(session.scalars(sa.select(User).where(User.service_account.is_(True)).order_by(User.username)))
    now = utcnow()
    working = {
        account_id: n
        for account_id, n in session.execute(
            sa.select(ApiToken.account_id, sa.func.count())
            .where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
            .group_by(ApiToken.account_id)
        )
    }
    return render_template("api/accounts.html", accounts=rows, working=working, roles=ROLE_LABELS, scopes=SCOPE_LABELS)


@bp.route("/accounts/new", methods=["GET", "POST"])
@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS)
def account_edit(user_id: int | None = None):
    """Create or change a service account: what it may do and whose records it reaches."""
    account = _account(user_id) if user_id is not None else None
    form = account_form(ServiceAccountForm, account, *admin_service.reach_choices())
    if form.validate_on_submit():
        with rule_on_form(form):
            saved = admin_service.save_user(
                current_user, account, **account_fields(form), password=None, service_account=True
            )
            flash(_("Service account saved."), "success")
            return redirect(url_for("api_admin.account_tokens", user_id=saved.id))
    return render_template("api/account_form.html", form=form, account=account), form_status(form)


@bp.route("/accounts/<int:user_id>/tokens", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS)
def account_tokens(user_id: int):
    """A service account's tokens; a new one is shown once, on the page that issued it."""
    account = _account(user_id)
    form = TokenForm()
    issued = None
    if form.validate_on_submit():
        try:
            issued = tokens.issue(current_user, account, label=form.label.data, days=form.days.data)
        except DomainError as err:
            show_on_form(form, err)
    page = render_template(
        "api/tokens.html",
        account=account,
        tokens=tokens.tokens_of(account),
        form=TokenForm(formdata=None) if issued else form,
        issued=issued,
        now=utcnow(),
        confirm=ConfirmForm(),
        roles=ROLE_LABELS,
    )
    return page, form_status(form)


@bp.post("/tokens/<token_uid>/revoke")
@requires(Permission.ADMIN_USERS)
def token_revoke(token_uid: str):
    """Stop a token at once."""
    token = session.scalar(sa.select(ApiToken).where(ApiToken.uid == token_uid))
    if token is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        tokens.revoke(current_user, token)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(_("Token revoked: its next call is refused."), "success")
    return redirect(url_for("api_admin.account_tokens", user_id=token.account_id))


@bp.post("/accounts/<int:user_id>/active")
@requires(Permission.ADMIN_USERS)
def account_active(user_id: int):
    """Deactivate a service account (its tokens are revoked: activating it again brings none back) or
    activate it again."""
    account = _account(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    admin_service.set_active(current_user, account, not account.active)
    if account.active:
        flash(_("Service account activated."), "success")
    else:
        tokens.revoke_all(current_user, account)
        flash(_("Service account deactivated: its tokens are revoked."), "success")
    return redirect(url_for("api_admin.account_tokens", user_id=account.id))


# ---- webhooks ----------------------------------------------------------------------------------------


def _subscription(uid: str) -> WebhookSubscription:
    found = session.scalar(sa.select(WebhookSubscription).where(WebhookSubscription.uid == uid))
    if found is None:
        abort(404)
    return found


@bp.route("/webhooks", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS)
def webhook_list():
    """The partners' subscriptions; a new one is shown with its secret once, on the page that created it."""
    organisations = list(
        session.scalars(sa.select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name))
    )
    form = WebhookForm(organisations=organisations)
    created = None
    if form.validate_on_submit():
        organisation = session.get(Organisation, form.organisation_id.data)
        if organisation is None:
            abort(400)
        try:
            created = webhooks.subscribe(current_user, organisation, form.url.data, form.events.data or [])
        except DomainError as err:
            show_on_form(form, err)
    names = {row.id: row.name for row in session.execute(sa.select(Organisation.id, Organisation.name))}
    page = render_template(
        "api/webhooks.html",
        subscriptions=webhooks.subscriptions(),
        names=names,
        form=WebhookForm(formdata=None, organisations=organisations) if created else form,
        created=created,
        events=webhooks.EVENTS,
        confirm=ConfirmForm(),
    )
    return page, form_status(form)


@bp.get("/webhooks/<uid>")
@requires(Permission.ADMIN_USERS)
def webhook_log(uid: str):
    """A subscription's delivery log: the latest 100 events, each attempt's answer and the next attempt."""
    subscription = _subscription(uid)
    return render_template(
        "api/webhook_log.html",
        subscription=subscription,
        organisation=session.get(Organisation, subscription.organisation_id),
        deliveries=webhooks.log_of(subscription),
        events=webhooks.EVENTS,
        states=webhooks.DELIVERY_STATES,
        errors=webhooks.DELIVERY_ERRORS,
        confirm=ConfirmForm(),
    )


@bp.post("/webhooks/<uid>/stop")
@requires(Permission.ADMIN_USERS)
def webhook_stop(uid: str):
    """Stop a subscription: nothing more is sent to it."""
    subscription = _subscription(uid)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        webhooks.deactivate(current_user, subscription)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(_("Subscription stopped: nothing more is sent to it."), "success")
    return redirect(url_for("api_admin.webhook_log", uid=subscription.uid))


@bp.post("/webhooks/deliveries/<delivery_uid>/retry")
@requires(Permission.ADMIN_USERS)
def webhook_retry(delivery_uid: str):
    """Send a failed delivery again (the partner's server is back)."""
    delivery = session.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.uid == delivery_uid))
    if delivery is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        webhooks.retry(current_user, delivery)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(_("The delivery will be sent again."), "success")
    return redirect(url_for("api_admin.webhook_log", uid=delivery.subscription.uid))
