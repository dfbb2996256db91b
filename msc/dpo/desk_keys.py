"""The DPO's desk, the keys: rotations started and carried on from the page, old keys retired."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from msc import numbers
from msc.dpo import keys
from msc.dpo.blueprint import bp
from msc.dpo.forms import RetireKeyForm
from msc.forms import ConfirmForm
from msc.security.policy import Permission, requires


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/dpo/keys")
@requires(Permission.KEYS_ROTATE)
def keys_page():
    """The keys in use, rotations under way with their progress, and old keys that can be retired."""
    return render_template(
        "dpo/keys.html", status=keys.status(), phase=keys.phase, form=ConfirmForm(), retire_form=RetireKeyForm()
    )


@bp.post("/dpo/keys/<any(kek, index):kind>/start")
@requires(Permission.KEYS_ROTATE)
def keys_start(kind: str):
    """Start a KEK or index-key rotation; the page then carries it on."""
    if ConfirmForm().validate_on_submit():
        try:
            keys.start(current_user, kind, new_kek=False if request.form.get("rewrap") == "1" else None)
        except keys.KeysError as err:
            flash(str(err), "error")
        else:
            flash(
                _("Rotation started. Keep this page open to carry it on, or come back later: nothing is lost."), "info"
            )
    return redirect(url_for("dpo.keys_page"))


@bp.post("/dpo/keys/<any(kek, index):kind>/step")
@requires(Permission.KEYS_ROTATE)
def keys_step(kind: str):
    """Carry a rotation on for a couple of seconds; answer its progress (JSON for the page's script)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        job = keys.step(current_user, kind)
    except keys.KeysError as err:
        if _wants_json():
            return {"error": str(err)}, 409
        flash(str(err), "error")
        return redirect(url_for("dpo.keys_page"))
    if _wants_json():
        return {
            "phase": keys.phase(job),
            "percent": job.percent,
            "percent_text": numbers.percent(job.percent / 100),
            "done": job.done,
            "total": job.total,
            "label": render_template("dpo/_rotation_progress.html", job=job, job_phase=keys.phase(job)),
        }
    return redirect(url_for("dpo.keys_page"))


@bp.post("/dpo/keys/retire")
@requires(Permission.KEYS_ROTATE)
def keys_retire():
    """Remove an old key from the key ring once nothing needs it."""
    form = RetireKeyForm()
    if form.validate_on_submit():
        try:
            keys.retire(current_user, form.kind.data, form.key_id.data)
        except keys.KeysError as err:
            flash(str(err), "error")
        else:
            flash(_("Key %(key)s retired: it is no longer in the key ring.", key=form.key_id.data), "info")
    else:
        flash(_("Choose a key to retire."), "error")
    return redirect(url_for("dpo.keys_page"))
