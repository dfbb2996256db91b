"""Field-level encryption, key management and blind indexes: the one place that touches the cipher."""
from msc.crypto.envelope import DecryptionError
from msc.crypto.fields import DataKey, DataKeyDestroyed, EncryptedField, EncryptedRow, new_uid
from msc.crypto.blind import BlindIndexer
from msc.crypto.keys import KeyRing, keyring


def blind_indexer() -> BlindIndexer:
    """The current application's blind indexer (keys derived once per app)."""
    from flask import current_app
    ext = current_app.extensions
    if "msc.blind" not in ext:
        ext["msc.blind"] = BlindIndexer(keyring().index_key, current_app.config["BLIND_INDEX_BITS"])
    return ext["msc.blind"]


__all__ = ["DataKey", "DataKeyDestroyed", "DecryptionError", "EncryptedField", "EncryptedRow",
           "KeyRing", "blind_indexer", "keyring", "new_uid"]
