"""The DPO's desk, the keys: rotations started from the page and run by a job, old keys retired."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from msc.crypto import rotation
from msc.db import session
from msc.dpo import keys
from msc.dpo.blueprint import bp
from msc.dpo.forms import RetireKeyForm
from msc.forms import ConfirmForm
from msc.jobs.service import status_json
from msc.security.policy import Permission, requires


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/dpo/keys")
@requires(Permission.KEYS_ROTATE)
def keys_page():
    """The keys in use, rotations under way with the progress of the job that runs them, and old keys
    that can be retired."""
    jobs = {kind: keys.active_job(kind) for kind in (rotation.KEK, rotation.INDEX)}
    last = {kind: keys.last_job(kind) for kind in (rotation.KEK, rotation.INDEX)}
    return render_template(
        "dpo/keys.html",
        status=keys.status(),
        phase=keys.phase,
        jobs=jobs,
        last_jobs=last,
        form=ConfirmForm(),
        retire_form=RetireKeyForm(),
    )


@bp.post("/dpo/keys/<any(kek, index):kind>/start")
@requires(Permission.KEYS_ROTATE)
def keys_start(kind: str):
    """Start a KEK or index-key rotation; a job runs it to its end in the background."""
    if ConfirmForm().validate_on_submit():
        try:
            keys.start(current_user, kind, new_kek=False if request.form.get("rewrap") == "1" else None)
            keys.carry_on(current_user, kind)
        except keys.KeysError as err:
            flash(str(err), "error")
        else:
            flash(_("Rotation started. It runs in the background: this page shows how far it got."), "info")
    return redirect(url_for("dpo.keys_page"))


@bp.post("/dpo/keys/<any(kek, index):kind>/step")
@requires(Permission.KEYS_ROTATE)
def keys_step(kind: str):
    """Carry an interrupted rotation on: queue the job that runs it (unless one is queued or running);
    answer its status (JSON for a script)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        job = keys.carry_on(current_user, kind)
    except keys.KeysError as err:
        if _wants_json():
            return {"error": str(err)}, 409
        flash(str(err), "error")
        return redirect(url_for("dpo.keys_page"))
    if _wants_json():
        session.flush()
        return status_json(job)
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
