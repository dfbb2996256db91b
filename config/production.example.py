"""Production example: copy to config/production.py or set everything through MSC_* variables.

Nothing secret lives here. Production refuses to start without MSC_SECRET_KEY and encryption keys
(MSC_KEYS_FILE, or MSC_KEKS + MSC_ACTIVE_KEK + MSC_INDEX_KEY + MSC_AUDIT_KEY), without a witness of
the audit chain (MSC_AUDIT_WITNESS_FILE on another volume and/or MSC_AUDIT_WITNESS_SYSLOG), or with
debug on.
"""

DATABASE_URL = None  # e.g. MSC_DATABASE_URL=postgresql+psycopg://msc@db/msc
GENERATE_KEYS = False
SESSION_COOKIE_SECURE = True
HSTS = True
RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"
DEBUG = False
AUDIT_WITNESS_FILE = None  # e.g. MSC_AUDIT_WITNESS_FILE=/var/log/msc-witness/audit-witness.log (another volume)
AUDIT_WITNESS_SYSLOG = None  # e.g. MSC_AUDIT_WITNESS_SYSLOG=/dev/log (journald/rsyslog forward it off the server)
