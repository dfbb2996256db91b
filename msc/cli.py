"""Command-line tools: flask --app msc db|keys|audit|users|demo|index|nfi|reports|dpo|exports|referrals ..."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from msc import db as dbmod
from msc.beneficiaries import index
from msc.crypto import repad, rotation
from msc.crypto.keys import KeyError_, create_key_file, keyring
from msc.db import session, utcnow
from msc.dpo import erasure, keys, oversight
from msc.dpo import exports as personal_exports
from msc.dpo.backup import BackupError, snapshot
from msc.nfi import stock
from msc.referrals import reminders
from msc.reports import cube
from msc.security import service, witness
from msc.security.actor import SYSTEM


class Commands(AppGroup):
    """A command group whose commands say in one line what is wrong with the keys (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyError_ as err:
            raise click.ClickException(str(err)) from None


db_cli = Commands("db", help="Database schema (Alembic migrations).")
keys_cli = Commands("keys", help="Encryption keys: init, rotate, check, repad, retire.")
audit_cli = Commands("audit", help="The tamper-evident audit log.")
users_cli = Commands("users", help="User accounts.")
demo_cli = Commands("demo", help="Demo data for trying MSC Case.")
index_cli = Commands("index", help="Blind indexes for search.")
nfi_cli = Commands("nfi", help="Non-food items: stock checks.")
reports_cli = Commands("reports", help="Dashboards: prove or rebuild their running counts.")
dpo_cli = Commands("dpo", help="Data protection: retention runs.")
exports_cli = Commands("exports", help="Personal-data export archives.")
referrals_cli = Commands("referrals", help="Referrals: reminders of those past their deadline.")


@db_cli.command("upgrade")
@click.option("--revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations."""

    dbmod.upgrade(current_app, revision)
    if revision == "head" and (key_id := rotation.start_on_key_file()) is not None:
        session.commit()
        click.echo(f"new database: the blind index starts on index key {key_id}")
    click.echo("database is up to date")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION (e.g. base)."""

    dbmod.downgrade(current_app, revision)


@keys_cli.command("init")
def keys_init() -> None:
    """Create the installation's key file at MSC_KEYS_FILE (mode 0600; an existing file is never touched)."""
    try:
        path = create_key_file(current_app)
    except KeyError_ as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"key file written to {path} (mode 0600): back it up apart from the database, offline")


@keys_cli.command("rotate")
@click.option("--new", "new_kek", is_flag=True, help="Generate a new KEK in the key file and make it active.")
def keys_rotate(new_kek: bool) -> None:
    """Re-wrap every data key under the active KEK (data is not re-encrypted); carries on an
    interrupted rotation."""

    try:
        if rotation.running(rotation.KEK) is None:
            if not new_kek and not rotation.outside_active():
                click.echo(f"every data key is already under {keyring().active_kek}")
                return
            job = keys.start(SYSTEM, rotation.KEK, new_kek=new_kek)
            if new_kek:
                click.echo(f"new KEK {job.key_id} is now active")
        done = keys.run_to_end(SYSTEM, rotation.KEK)
    except keys.KeysError as err:
        raise click.ClickException(str(err)) from None
    if done is not None:
        click.echo(f"re-wrapped {done.done} data keys under {done.key_id}")


@keys_cli.command("check")
def keys_check() -> None:
    """Verify that every wrapped data key opens with the configured KEKs."""

    result = rotation.check()
    for kid, n in sorted(result.by_kek.items()):
        click.echo(f"{kid}: {n} data keys")
    click.echo(f"checked {result.checked}, destroyed {result.destroyed}, failed {len(result.failed)}")
    if result.failed:
        raise click.ClickException(f"data keys that do not open: {result.failed[:20]}")


@keys_cli.command("repad")
def keys_repad() -> None:
    """Pad the values encrypted before padding existed (their length tells a value's length): each is
    decrypted and written again, unchanged. Safe to run again; carries on where it stopped."""

    done = repad.repad()
    for column, n in sorted(done.by_column.items()):
        click.echo(f"{column}: {n} values padded")
    click.echo(f"padded {done.total} values; {done.unreadable} under destroyed keys left as they are")


@keys_cli.command("retire")
@click.argument("kek_id")
def keys_retire(kek_id: str) -> None:
    """Remove an old KEK from the key file once nothing uses it."""
    _retire("kek", kek_id)


def _retire(kind: str, key_id: str) -> None:
    try:
        keys.retire(SYSTEM, kind, key_id)
    except keys.KeysError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"retired {key_id}")


@audit_cli.command("verify")
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Also compare with witness lines kept elsewhere (e.g. taken from the remote log collector).",
)
def audit_verify(witnesses: tuple[Path, ...]) -> None:
    """Walk the audit chain, compare it with the head its witness saw, report what is broken or missing
    (the result is kept for the DPO's page), then write the head to the witness."""

    _check, result = oversight.check_chain(SYSTEM, witnesses)
    session.commit()  # writes the head (with this check's own record) to the witness
    if result.note:
        click.echo(f"note: {result.note}")
    if result.ok:
        seen = f"; the witness saw record {result.witnessed.seq} on {result.witnessed.at}" if result.witnessed else ""
        click.echo(f"audit chain intact: {result.checked} records{seen}")
        return
    for seq, problem in result.problems:
        click.echo(f"record {seq}: {problem}" if seq is not None else problem, err=True)
    where = f"at record {result.broken_seq}" if result.broken_seq is not None else "per its witness"
    raise click.ClickException(
        f"audit chain broken {where}: {result.reason} ({result.checked} records verified in order)"
    )


@audit_cli.command("anchor")
def audit_anchor() -> None:
    """Write the chain's head (newest sequence number and MAC) to the witness file and/or syslog; a timer
    runs it each minute (config/deploy/). A file whose last line holds the same head is left as it is."""

    if not witness.configured():
        raise click.ClickException("no witness configured: set AUDIT_WITNESS_FILE and/or AUDIT_WITNESS_SYSLOG")
    try:
        head, where = witness.anchor(repeat=False)
    except witness.WitnessError as err:
        raise click.ClickException(str(err)) from None
    if head is None:
        click.echo("the audit log is empty: nothing to witness")
    elif where:
        click.echo(f"record {head.seq} witnessed in {', '.join(where)}")
    else:
        click.echo(f"record {head.seq} was already witnessed")


@nfi_cli.command("check")
def nfi_check() -> None:
    """Check that every centre's stock on hand equals the sum of its ledger."""

    wrong = stock.mismatches()
    if not wrong:
        click.echo("stock adds up: every stock on hand equals its ledger")
        return
    for centre_id, item_id, held, total in wrong:
        click.echo(f"centre {centre_id} item {item_id}: on hand {held}, ledger {total}")
    raise click.ClickException(f"{len(wrong)} stock levels differ from their ledger")


@reports_cli.command("check")
def reports_check() -> None:
    """Check that the dashboards' running counts equal what the records say."""

    wrong = cube.check(session)
    if not wrong:
        click.echo("report counts add up: every count equals the records")
        return
    for key, have, want in wrong[:50]:
        click.echo(f"{key}: counted {have}, records {want}")
    raise click.ClickException(f"{len(wrong)} report counts differ from the records")


@reports_cli.command("rebuild")
def reports_rebuild() -> None:
    """Recount every dashboard figure from the records (after upgrading to revision 0011, or a restore)."""

    rows = cube.rebuild(session)
    session.commit()
    click.echo(f"report counts rebuilt: {rows} rows")


@dpo_cli.command("retention")
@click.option("--apply", "apply_", is_flag=True, help="Anonymise them (without it, only list who is due).")
def dpo_retention(apply_: bool) -> None:
    """List the people whose retention period has ended; with --apply, anonymise them (crypto-shredding)."""

    due = erasure.due()
    for d in due:
        click.echo(f"{d.person.case_number}  {d.country}  last case closed {d.closed_on}  due since {d.due_on}")
    if not apply_:
        click.echo(f"{len(due)} due (dry run: nothing changed; add --apply to anonymise them)")
        return
    done = erasure.run(SYSTEM)
    session.commit()
    click.echo(f"retention run {done.id}: {done.erased} anonymised")


@exports_cli.command("purge")
def exports_purge() -> None:
    """Delete the export archives that expired unread (EXPORT_TTL_HOURS); the timer runs it each minute."""

    n = personal_exports.purge()
    session.commit()
    click.echo(f"{n} expired export archives deleted")


@referrals_cli.command("remind")
def referrals_remind() -> None:
    """Remind the staff following a case and the partner of every referral past its deadline without an
    answer (in the application: nothing is e-mailed). Run it daily; running it again the same day reminds
    nobody twice, and a referral still late is reminded of again after REFERRAL_REMINDER_DAYS days."""

    made = reminders.send_due(utcnow())
    session.commit()
    click.echo(f"{made} referral reminders made")


@click.command("backup")
@with_appcontext
@click.option(
    "--to",
    "target",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the snapshot (default: the instance folder's backups/).",
)
def backup(target: Path | None) -> None:
    """Write a consistent snapshot of the SQLite database (never the keys: keep those apart)."""

    try:
        path = snapshot(current_app.config["DATABASE_URL"], target or Path(current_app.instance_path) / "backups")
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"snapshot written to {path} (the keys are not in it: keep them apart)")


@index_cli.command("rebuild")
def index_rebuild() -> None:
    """Recompute every person's blind-index entries in every generation in use (after an upgrade that
    changed how entries are computed; to change the index key use `index rotate`)."""

    count = index.rebuild_index()
    dbmod.refresh_statistics()
    click.echo(f"rebuilt the index of {count} people")


@index_cli.command("rotate")
def index_rotate() -> None:
    """Move the blind index to a new index key: recompute every person's entries in batches (searches
    stay correct meanwhile), switch, remove the old entries. Carries on an interrupted rotation."""

    try:
        job = rotation.running(rotation.INDEX) or keys.start(SYSTEM, rotation.INDEX)
        while keys.phase(job) != "done":
            job = keys.step(SYSTEM, rotation.INDEX, seconds=10.0)
            click.echo(f"{keys.phase(job)}: {job.done} of {job.total} people")
    except keys.KeysError as err:
        raise click.ClickException(str(err)) from None
    click.echo(
        f"searches use {job.key_id}; the entries of {job.previous_key_id} are gone. Retire it with "
        f"`flask --app msc index retire {job.previous_key_id}`"
    )


@index_cli.command("retire")
@click.argument("key_id")
def index_retire(key_id: str) -> None:
    """Remove an old index key from the key file once no generation needs it."""
    _retire("index", key_id)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--scope", default="region")
@click.password_option()
def users_create(username: str, role: str, display_name: str, scope: str, password: str) -> None:
    """Create an account (the first admin, typically)."""

    try:
        user = service.new_user(username=username, display_name=display_name, role=role, scope=scope, password_hash="!")
        session.flush()
        service.set_password(user, password)
    except service.AccountError as err:
        raise click.ClickException(err.message) from None
    session.commit()
    click.echo(f"created {username} ({role})")


@demo_cli.command("load")
@click.option("--people", default=300, show_default=True)
def demo_load(people: int) -> None:
    """Load demo centres, one user per role and synthetic beneficiaries (once)."""
    from msc import demo  # Faker is loaded only for the demo, not by every server process

    if demo.already_loaded():
        click.echo("demo data already loaded")
        return
    demo.load(people)
    session.commit()
    dbmod.refresh_statistics()
    click.echo(f"loaded demo centres, users and {people} beneficiaries")


@demo_cli.command("logins")
def demo_logins() -> None:
    """Print the demo logins."""
    from msc import demo

    click.echo(f"\nDemo logins (password for all: {demo.DEMO_PASSWORD})")
    for username, role, note in demo.DEMO_USERS_TABLE:
        click.echo(f"  {username:<14} {role:<20} {note}")
    click.echo("Roles marked MFA set up a TOTP app on first login.\n")


def register(app: Flask) -> None:
    """Add every command group to the app."""
    groups = (
        db_cli,
        keys_cli,
        audit_cli,
        index_cli,
        users_cli,
        demo_cli,
        nfi_cli,
        reports_cli,
        dpo_cli,
        exports_cli,
        referrals_cli,
    )
    for group in (*groups, backup):
        app.cli.add_command(group)
