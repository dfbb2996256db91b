"""Production example: copy to config/production.py or set everything through MSC_* variables.

Nothing secret lives here. Production refuses to start without MSC_DATABASE_URL, MSC_SECRET_KEY (at least 32 random
bytes: `python -c "import secrets; print(secrets.token_urlsafe(32))"`), without encryption keys
(MSC_KEYS_FILE, mode 0600, or MSC_KEKS + MSC_ACTIVE_KEK + MSC_INDEX_KEY + MSC_AUDIT_KEY), without
MSC_PUBLIC_URL, without a witness of the audit chain (MSC_AUDIT_WITNESS_FILE on another volume
and/or MSC_AUDIT_WITNESS_SYSLOG), with debug on or with cookies that may travel over plain HTTP.
"""

DATABASE_URL = None  # e.g. MSC_DATABASE_URL=postgresql+psycopg://msc@db/msc
GENERATE_KEYS = False
PUBLIC_URL = None  # e.g. MSC_PUBLIC_URL=https://msc.example.org (required; other Host headers get a 400)
EXTRA_TRUSTED_HOSTS = None  # e.g. MSC_EXTRA_TRUSTED_HOSTS=msc-internal,10.0.0.5 for a health check
SESSION_COOKIE_SECURE = True
HSTS = True
RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"
DEBUG = False
LOG_FORMAT = "json"
LOG_REQUESTS = True
SENTRY_DSN = None  # e.g. MSC_SENTRY_DSN=https://key@sentry.example.org/3 (only the error's type and place are sent)
PROXY_FIX_X_FOR = 1  # nginx in front (config/deploy/nginx.conf); 0 if clients reach gunicorn directly
AUDIT_WITNESS_FILE = None  # e.g. MSC_AUDIT_WITNESS_FILE=/var/log/msc-witness/audit-witness.log (another volume)
AUDIT_WITNESS_SYSLOG = None  # e.g. MSC_AUDIT_WITNESS_SYSLOG=/dev/log (journald/rsyslog forward it off the server)
JOBS_BACKEND = "rq"  # `flask worker` (config/deploy/msc-worker.service) runs the jobs and the schedule
JOBS_REDIS_URL = None  # e.g. MSC_JOBS_REDIS_URL=redis://127.0.0.1:6379/1 (default: RATELIMIT_STORAGE_URI)
RETENTION_AUTO = True  # each night, anonymise whoever's retention period ended (MSC_RETENTION_AUTO=false: by hand)
