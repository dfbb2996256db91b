"""Field-level encryption, blind indexes and key rotation."""

import json

import pytest
import sqlalchemy as sa

from msc.crypto import DecryptionError, blind, envelope
from msc.crypto.keys import FileKeyProvider, KeyError_, KeyRing


def test_same_plaintext_twice_gives_different_ciphertexts():
    key = envelope.new_data_key()
    aad = envelope.field_aad("beneficiaries", "given_names_ct", "abc")
    a = envelope.encrypt_field(key, b"Maria", aad)
    b = envelope.encrypt_field(key, b"Maria", aad)
    assert a != b
    assert envelope.decrypt_field(key, a, aad) == envelope.decrypt_field(key, b, aad) == b"Maria"
    assert len(a) == 1 + 12 + 16 + 16  # version, 96-bit nonce, ciphertext padded to 16 bytes, tag


def test_names_of_different_lengths_in_one_bucket_give_equal_ciphertext_lengths():
    key = envelope.new_data_key()
    aad = envelope.field_aad("beneficiaries", "given_names_ct", "abc")
    short, longer = envelope.encrypt_field(key, b"Ana", aad), envelope.encrypt_field(key, "María José".encode(), aad)
    assert len(short) == len(longer)
    assert envelope.decrypt_field(key, longer, aad) == "María José".encode()
    lengths = {n: len(envelope.encrypt_field(key, b"x" * n, aad)) - 29 for n in (0, 15, 16, 31, 200, 255, 256, 600)}
    assert lengths == {0: 16, 15: 16, 16: 32, 31: 32, 200: 256, 255: 256, 256: 512, 600: 768}
    for n in (0, 1, 15, 16, 63, 64, 255, 256, 511, 512):
        assert envelope.decrypt_field(key, envelope.encrypt_field(key, b"\x00" * n, aad), aad) == b"\x00" * n


def test_a_ciphertext_written_before_padding_still_opens():
    key = envelope.new_data_key()
    aad = envelope.field_aad("beneficiaries", "given_names_ct", "abc")
    old = envelope._seal(key, b"Maria", aad)  # version 1: how values were written before padding
    assert old[:1] == b"\x01" and len(old) == 1 + 12 + 5 + 16
    assert envelope.decrypt_field(key, old, aad) == b"Maria"


def test_tampered_padding_or_version_is_rejected():
    key = envelope.new_data_key()
    aad = envelope.field_aad("t", "c", "r")
    no_marker, short, junk, oversized = (
        b"Maria" + b"\x00" * 11,
        b"Maria\x80" + b"\x00" * 5,
        b"Maria\x80\x01" + b"\x00" * 9,
        b"Maria\x80" + b"\x00" * 26,
    )
    for bad in (no_marker, short, junk, oversized):
        blob = envelope._seal(key, bad, aad, envelope.PADDED)  # authenticates, but its padding is malformed
        with pytest.raises(DecryptionError, match="padding"):
            envelope.decrypt_field(key, blob, aad)
    good = envelope.encrypt_field(key, b"Maria", aad)
    for version in (b"\x01", b"\x03"):  # a padded value passed off as unpadded (or unknown) fails
        with pytest.raises(DecryptionError):
            envelope.decrypt_field(key, version + good[1:], aad)
    old = envelope._seal(key, b"Maria\x80" + b"\x00" * 10, aad)
    with pytest.raises(DecryptionError):  # and an old value cannot be passed off as padded
        envelope.decrypt_field(key, b"\x02" + old[1:], aad)


def test_tampered_ciphertext_fails():
    key = envelope.new_data_key()
    aad = envelope.field_aad("t", "c", "r")
    blob = bytearray(envelope.encrypt_field(key, b"secret", aad))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        envelope.decrypt_field(key, bytes(blob), aad)


def test_ciphertext_copied_to_another_row_or_column_fails(ctx, make):
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session

    a_uid = make.person(given_names="Ana", family_names="Rojas")
    b_uid = make.person(given_names="Beto", family_names="Suárez", date_of_birth=None, estimated_age=30)
    a = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == a_uid))
    b = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == b_uid))
    # same row, other column
    a.family_names_ct = a.given_names_ct
    with pytest.raises(DecryptionError):
        _ = a.family_names
    # other row (even with that row's own key it fails: the row id is bound in)
    b.given_names_ct = session.scalar(sa.select(Beneficiary.given_names_ct).where(Beneficiary.uid == a_uid))
    with pytest.raises(DecryptionError):
        _ = b.given_names


def test_values_are_stored_encrypted(ctx, make):
    from msc.db import session

    uid = make.person(
        given_names="Yessica",
        family_names="Quintero",
        document_type="passport",
        document_number="P1234567",
        phone="+57 300 111 2233",
    )
    row = session.execute(
        sa.text("SELECT given_names_ct, document_number_ct, phone_ct FROM beneficiaries WHERE uid = :u"), {"u": uid}
    ).one()
    for blob in row:
        assert blob is not None and b"Yessica" not in blob and b"P1234567" not in blob


def test_crypto_shredding_erases_every_field(ctx, make):
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session

    uid = make.person(given_names="Lucía", family_names="Mendoza")
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
    person.data_key.destroy()
    session.commit()
    session.expire_all()
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
    assert person.given_names is None and person.family_names is None and person.date_of_birth is None


def test_a_field_read_again_is_decrypted_once_until_it_changes_or_its_key_is_destroyed(ctx, make, monkeypatch):
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session

    uid = make.person(given_names="Lucía", family_names="Mendoza")
    session.expire_all()
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
    opened = []
    real = envelope.decrypt_field
    monkeypatch.setattr(envelope, "decrypt_field", lambda *a: opened.append(1) or real(*a))
    assert person.full_name == person.full_name == "Lucía Mendoza"
    assert len(opened) == 2  # the two names once each, however often they are read
    person.given_names = "Luciana"  # a new ciphertext is read afresh
    assert person.given_names == "Luciana" and len(opened) == 3
    person.data_key.destroy()  # and nothing is read once the key is gone, not even what was read before
    assert person.given_names is None and person.family_names is None


def test_rotation_rewraps_and_old_kek_can_be_retired(app, make, monkeypatch):
    from msc.crypto import keyring, rotation

    monkeypatch.setattr(rotation, "RETIRE_AFTER_SECONDS", 0)  # no other process to wait for
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session

    uid = make.person(given_names="Rosa", family_names="Villalobos")
    runner = app.test_cli_runner()
    with app.app_context():
        old = keyring().active_kek
    result = runner.invoke(args=["keys", "rotate", "--new"])
    assert result.exit_code == 0, result.output
    assert "re-wrapped" in result.output
    with app.app_context():
        new = keyring().active_kek
        assert new != old
        assert rotation.check().failed == []
    assert runner.invoke(args=["keys", "retire", old]).exit_code == 0
    from pathlib import Path

    data = json.loads(Path(app.config["KEYS_FILE"]).read_text())
    assert old not in data["keks"] and new in data["keks"]
    # a fresh app that only knows the new KEK still decrypts everything
    from msc import create_app

    fresh = create_app(
        "testing",
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_FILE": app.config["KEYS_FILE"],
        },
    )
    with fresh.app_context():
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        assert person.given_names == "Rosa"
        assert runner.invoke(args=["keys", "check"]).exit_code == 0
    fresh.extensions["msc.engine"].dispose()


def test_retiring_a_kek_in_use_is_refused(app, make):
    make.person(given_names="Rosa", family_names="Villalobos")
    runner = app.test_cli_runner()
    with app.app_context():
        from msc.crypto import keyring

        old = keyring().active_kek
    from msc.crypto import rotation

    with app.app_context():
        rotation.add_new_kek()
    result = runner.invoke(args=["keys", "retire", old])
    assert result.exit_code != 0 and "still wrapped" in result.output


def test_keys_check_reports_a_key_that_does_not_open(app, make):
    make.person(given_names="Rosa", family_names="Villalobos")
    from msc.crypto.fields import DataKey
    from msc.db import session

    with app.app_context():
        key = session.scalars(sa.select(DataKey)).first()
        key.uid = "0" * 32  # the wrapping no longer matches
        session.commit()
    result = app.test_cli_runner().invoke(args=["keys", "check"])
    assert result.exit_code != 0 and "do not open" in result.output


def test_key_ring_rejects_bad_keys(tmp_path):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"keks": {"a": "c2hvcnQ="}, "active_kek": "a", "index_key": "", "audit_key": ""}))
    with pytest.raises(KeyError_):
        FileKeyProvider(path).load()
    with pytest.raises(KeyError_):
        KeyRing({"a": b"x" * 32}, "b", b"i" * 32, b"a" * 32)


# ---- normalisation and blind indexes ----------------------------------------------------------


def test_name_tokens_fold_accents_case_hyphens_and_particles():
    assert blind.name_tokens("María José Pérez de la Cruz") == ["maria", "jose", "perez", "cruz"]
    assert blind.name_tokens("  GONZÁLEZ-Núñez  dos Santos ") == ["gonzalez", "nunez", "santos"]


@pytest.mark.parametrize(
    "a,b",
    [
        ("Gonsalez", "González"),
        ("Yesica", "Yessica"),
        ("Vanessa", "Banesa"),
        ("Hernández", "Ernandez"),
        ("Quiroga", "Kiroga"),
        ("Yulieth", "Llulieth"),
        ("Gonçalves", "Gonsalves"),
        ("Jiménez", "Giménez"),
        ("Cecilia", "Sesilia"),
        ("Nunes", "Nunez"),
        ("Zambrano", "Sambrano"),
    ],
)
def test_phonetic_key_matches_spanish_and_portuguese_variants(a, b):
    assert blind.phonetic_key(a) == blind.phonetic_key(b)


@pytest.mark.parametrize("a,b", [("Pérez", "Páez"), ("Rojas", "Rosas"), ("Marta", "Marco")])
def test_phonetic_key_keeps_different_names_apart(a, b):
    assert blind.phonetic_key(a) != blind.phonetic_key(b)


def test_typo_neighbourhoods_meet_for_one_edit():
    def meet(a, b):
        return bool(blind.typo_neighbourhood(a) & blind.typo_neighbourhood(b))

    assert meet("garcia", "gracia")  # transposition
    assert meet("garcia", "garcea")  # substitution
    assert meet("garcia", "garcias")  # insertion
    assert meet("garcia", "garca")  # deletion
    assert not meet("garcia", "torres")


def test_hashes_are_keyed_truncated_and_per_kind():
    bits = {"name": 20, "name_phonetic": 20, "name_typo": 20, "name_lead": 20, "dob": 12, "document": 16, "phone": 16}
    idx1 = blind.BlindIndexer(b"k" * 32, bits)
    idx2 = blind.BlindIndexer(b"j" * 32, bits)
    assert idx1.hash(blind.NAME, "garcia") != idx2.hash(blind.NAME, "garcia")
    assert idx1.hash(blind.NAME, "garcia") != idx1.hash(blind.NAME_TYPO, "garcia")
    assert all(idx1.hash(blind.NAME, f"x{i}") < 2**20 for i in range(200))
    assert all(idx1.hash(blind.DOB, f"x{i}") < 2**12 for i in range(200))


def test_phone_and_document_normalisation():
    assert blind.normalise_phone("+57 300 123 4567", "COL") == blind.normalise_phone("3001234567", "COL")
    assert blind.normalise_document("v-12.345.678") == "V12345678"
    assert blind.normalise_phone("12", "COL") == ""


def _unpadded(column_of: dict, key: bytes, table: str, uid: str) -> dict:
    """Values encrypted as they were before padding existed (ciphertext version 1)."""
    return {
        column: envelope._seal(key, value.encode(), envelope.field_aad(table, column, uid))
        for column, value in column_of.items()
    }


def test_names_encrypted_before_padding_stop_telling_their_length_after_repad(app, make):
    """The attack: a copy of a database that held people before padding existed reads how long each
    name is from its ciphertext. `flask keys repad` pads those values without changing them; a person
    erased since (key destroyed) is left as is, and a second run finds nothing to do."""
    from msc.beneficiaries.models import Beneficiary
    from msc.crypto import repad
    from msc.db import session
    from msc.dpo import erasure
    from msc.security.models import User

    people = {
        "Al": make.person(given_names="Al", family_names="Li"),
        "Maximiliano": make.person(given_names="Maximiliano", family_names="Fernández Quispe"),
    }
    gone = make.person(given_names="Lucía", family_names="Mendoza")
    user_id = make.user("oficial", "protection_officer", scope="region", mfa_secret="JBSWY3DPEHPK3PXP")
    with app.app_context():
        rows = {n: session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == u)) for n, u in people.items()}
        for p in [*rows.values(), session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == gone))]:
            old = _unpadded(
                {"given_names_ct": p.given_names, "family_names_ct": p.family_names},
                p.data_key.plaintext(),
                "beneficiaries",
                p.uid,
            )
            session.execute(sa.update(Beneficiary).where(Beneficiary.id == p.id).values(old))
        user = session.get(User, user_id)
        old = _unpadded({"mfa_secret_ct": user.mfa_secret}, user.crypto_key().plaintext(), "users", user.uid)
        session.execute(sa.update(User).where(User.id == user_id).values(old))
        session.commit()
        erasure.erase(
            session.get(User, make.user("dpo", "dpo", scope="region")),
            session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == gone)),
            "duplicate",
        )
        session.commit()

        def lengths() -> dict:
            return dict(
                session.execute(
                    sa.select(Beneficiary.uid, sa.func.length(Beneficiary.given_names_ct)).where(
                        Beneficiary.uid.in_(people.values())
                    )
                ).all()
            )

        before = lengths()
        assert before[people["Maximiliano"]] - before[people["Al"]] == len("Maximiliano") - len("Al")
        assert repad.remaining() >= 5

    res = app.test_cli_runner().invoke(args=["keys", "repad"])
    assert res.exit_code == 0, res.output
    assert "beneficiaries.given_names_ct: 2 values padded" in res.output and "users.mfa_secret_ct: 1" in res.output
    with app.app_context():
        session.expire_all()
        after = lengths()
        assert len(set(after.values())) == 1  # one bucket: the copy no longer tells the names apart
        for name, uid in people.items():
            p = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
            assert p.given_names == name and p.given_names_ct[:1] == envelope.PADDED
        assert session.get(User, user_id).mfa_secret == "JBSWY3DPEHPK3PXP"
        left = repad.remaining()
    assert "destroyed keys left as they are" in res.output and left == int(res.output.split("; ")[1].split()[0])
    again = app.test_cli_runner().invoke(args=["keys", "repad"])
    assert again.exit_code == 0 and "padded 0 values" in again.output
