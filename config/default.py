"""Settings every environment starts from. MSC_* environment variables override any of them."""

# Database: SQLite under instance/ unless MSC_DATABASE_URL names another.
DATABASE_URL = None  # None: sqlite:///<instance>/msc.sqlite3

# Flask secret (signs the session cookie); production refuses to start without one, or with one
# shorter than 32 bytes or that looks like an example (see msc.settings.secret_key_problem).
SECRET_KEY = None

# The address people use to reach the app, scheme and host only (https://msc.example.org). Links and
# QR codes the app prints (the feedback poster) are built on it, never on the request's Host header,
# and requests naming another host are refused (400). Production refuses to start without it.
PUBLIC_URL = None
# Other host names requests may carry (an internal name a health check uses): a list, or "a,b".
EXTRA_TRUSTED_HOSTS = None
# Set from PUBLIC_URL and EXTRA_TRUSTED_HOSTS when left None (Flask's host check).
TRUSTED_HOSTS = None

# Keys: a JSON key file outside the database, or MSC_KEKS / MSC_ACTIVE_KEK / MSC_INDEX_KEY /
# MSC_AUDIT_KEY in the environment (MSC_INDEX_KEYS="id:base64,..." adds index keys for a rotation).
# See README "Keys".
KEYS_FILE = None
KEKS = None
ACTIVE_KEK = None
INDEX_KEY = None
INDEX_KEYS = None
AUDIT_KEY = None
GENERATE_KEYS = False  # development and tests only

# Sessions: idle timeout and absolute lifetime, in minutes.
SESSION_IDLE_MINUTES = 30
SESSION_ABSOLUTE_MINUTES = 12 * 60
SESSION_COOKIE_NAME = "msc_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = True

# Login protection.
LOGIN_RATE_LIMIT = "10 per minute"
# Back-off after failed logins (wrong password, wrong code, unknown username), counted per account name
# and per client address: this many failures in a row are free, then each doubles the wait (1 s, 2 s,
# 4 s…) up to a short cap per account name (so nobody keeps its owner out for long) and a long one per
# address (the guesser waits). An account name locks after LOGIN_HARD_LOCK_FAILURES failures in a row
# (NIST SP 800-63B: at most 100) until an administrator unlocks it. Quiet spells forget the counts.
LOGIN_BACKOFF_FREE = 5
LOGIN_BACKOFF_ACCOUNT_MAX_SECONDS = 60
LOGIN_BACKOFF_SOURCE_MAX_SECONDS = 15 * 60
LOGIN_BACKOFF_ACCOUNT_FORGET_HOURS = 24
LOGIN_BACKOFF_SOURCE_FORGET_MINUTES = 60
LOGIN_HARD_LOCK_FAILURES = 100
# A browser that completed a login to an account name (password and code) is known to it for this many
# days (a signed cookie naming the account's keyed hash): the address's wait and the login rate limit
# per address do not hold it up, so one guesser on a centre's shared Wi-Fi keeps out only browsers
# that never logged in there. Its failures count against the account as any other's.
KNOWN_DEVICE_DAYS = 90
# Minutes between the password and the code step of a login (the challenge is kept on the server).
LOGIN_CHALLENGE_MINUTES = 5
# Reverse proxies in front of the app that set X-Forwarded-For (0: none). The client address they pass
# on is the one rate limits and the login back-off count; without this, behind a proxy every client
# would share the proxy's address.
PROXY_FIX_X_FOR = 0
RATELIMIT_ENABLED = True
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = False
# Calls to /api/v1 each token may make (a call without a token counts against its address), and each
# address whatever the tokens it shows (several systems behind one address share this one).
API_RATE_LIMIT = "120 per minute"
API_ADDRESS_RATE_LIMIT = "600 per minute"
# Imports of existing lists (msc/imports): the largest file accepted (read in memory, never stored) and the
# most rows one import takes
IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_MAX_ROWS = 100_000
# Offline desks (msc/offline): how long after its last online login a device may record offline; what it
# records later is refused at sync
OFFLINE_WINDOW_HOURS = 12
# and how long after its window ended a record may still reach the server (a grant copied off a tablet
# creates nothing after that)
OFFLINE_SYNC_DAYS = 7
# Webhooks (msc/api/webhooks.py): how long a partner's server has to answer a delivery; whether an http://
# address (not https) and an address in a private, loopback or link-local network may receive deliveries
# (development and tests only: in production a subscription could otherwise reach inside our own network).
WEBHOOK_TIMEOUT_SECONDS = 10
WEBHOOK_ALLOW_HTTP = False
WEBHOOK_ALLOW_PRIVATE = False
# A Server-Timing header on every response: where the request's time went (SQL time and count, decryption,
# rendering, the audit append, the session and user load). Off, in production too; a benchmark run turns
# it on with MSC_SERVER_TIMING=true. It tells timings only, never data, but it is no one else's business.
SERVER_TIMING = False

# Languages.
LANGUAGES = ["es", "pt_BR", "en"]
BABEL_DEFAULT_LOCALE = "es"
# The zone of people with no centre and no country (regional staff), and of visitors; everyone else sees
# the time of their centre (msc.clock).
BABEL_DEFAULT_TIMEZONE = "America/Bogota"

# Forms.
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
MAX_CONTENT_LENGTH = 1 * 1024 * 1024

# Search.
SEARCH_PAGE_SIZE = 10
# Bits kept of each blind-index HMAC, per kind: a value shares its hash with a few others by chance.
# (name_typo and name_skeleton* hashes are kept in the name vocabulary, which is linked to no person.)
BLIND_INDEX_BITS = {
    "name": 20,
    "name_phonetic": 20,
    "name_typo": 20,
    "name_lead": 20,
    # a pair's holders are the first cut of the regional hints: wider, so that chance collisions stay rare
    "name_pair": 24,
    "name_skeleton": 20,
    "name_skeleton_full": 20,
    "dob": 14,
    "document": 16,
    "phone": 16,
}

# Referrals: hours a partner has to answer, by urgency.
REFERRAL_DEADLINE_HOURS = {"emergency": 24, "urgent": 72, "routine": 168}
# Days (calendar days at the referral's centre) between two reminders of a referral still past its deadline.
REFERRAL_REMINDER_DAYS = 3

# An application says when the person was assisted at another centre (in any country) for the same
# category by a decision whose period has not ended, or ended at most this many days before.
FUND_ASSISTED_ELSEWHERE_DAYS = 90

# Operations log: "text" (development) or "json" (one object a line: request id, route, status, duration,
# a pseudonym of the account; never a path, a query or a value). LOG_REQUESTS adds a line per request.
LOG_FORMAT = "text"
LOG_REQUESTS = False
# Error reporting (Sentry or compatible): off unless a DSN is set; only the error's type and place are sent.
SENTRY_DSN = None
SENTRY_TRANSPORT = None
RELEASE = None

DEBUG = False
TESTING = False
HSTS = False

# Public feedback pages (msc/feedback/kiosk.py): sends per device (a random id in a cookie; a sender without
# one counts with its address), the ceiling per address (people sharing a centre's Wi-Fi), and per kiosk
# (a tablet a centre manager made the centre's kiosk: neither limit above applies to it), and how long a
# kiosk stays one; plus the least time a person takes to write (spam without captchas)
FEEDBACK_RATE_LIMIT = "5 per hour"
FEEDBACK_ADDRESS_LIMIT = "60 per hour"
FEEDBACK_NEW_DEVICES = "30 per hour"  # new device ids one address is handed (each with its own allowance)
FEEDBACK_KIOSK_RATE_LIMIT = "120 per hour"
FEEDBACK_KIOSK_DAYS = 365
FEEDBACK_MIN_SECONDS = 3

# Break-the-glass: minutes an emergency access to another centre's record lasts before it ends by itself
BREAK_GLASS_MINUTES = 60
# accesses a user opens at once per rolling 24 hours; past them a protection officer approves each first
BREAK_GLASS_DAILY_QUOTA = 3
# proofs (case number and date of birth, or card) that did not match a user may make per rolling 24 hours
BREAK_GLASS_FAILED_PROOFS = 5
# requests to open a record, per user (Flask-Limiter notation)
BREAK_GLASS_RATE_LIMIT = "10 per minute"
# Continuity at the desk (msc/continuity): proofs that did not move a record a user may make per rolling
# 24 hours, and the rate of asking, per user
CONTINUITY_FAILED_PROOFS = 5
CONTINUITY_RATE_LIMIT = "10 per minute"
# Onward movements (msc/continuity/onward.py): days after the planned date without a confirmed arrival
# before the daily run flags a journey as not arrived (a protection flag for a child or a case in protection)
ONWARD_OVERDUE_DAYS = 3
# a burst the DPO is alerted to: this many requests or failed proofs by one user (or, across the region,
# BREAK_GLASS_REGION_BURST_COUNT) within BREAK_GLASS_BURST_MINUTES
BREAK_GLASS_BURST_COUNT = 5
BREAK_GLASS_REGION_BURST_COUNT = 15
BREAK_GLASS_BURST_MINUTES = 10

# Retention: years a person's data is kept after their last case closed, for countries with no policy set
RETENTION_YEARS = 5

# Audit chain witness: the chain's head (newest sequence number and MAC), written outside the database
# so that deleting the newest records is detected (README "Audit log"). A file opened in append mode
# only (None: instance/audit-witness.log outside production; "" : none; production should put it on
# another volume) and/or syslog ("/dev/log", or "host:port" over UDP; off by default). Production
# refuses to start with neither. The head is written after a commit that added audit records once the
# last witness is older than AUDIT_WITNESS_SECONDS, at every chain check, and by `flask audit anchor`.
AUDIT_WITNESS_FILE = None
AUDIT_WITNESS_SYSLOG = None
AUDIT_WITNESS_SECONDS = 60

# Personal-data exports: hours an archive waits to be downloaded before it is deleted
EXPORT_TTL_HOURS = 24

# Jobs (msc/jobs): what must not run inside a request. JOBS_BACKEND "rq" (Redis: `flask worker` runs
# them; production's default), "thread" (a thread of the process that queued the job; the embedded
# default) or "inline" (the tests: nothing runs until asked). The Redis is JOBS_REDIS_URL, else the rate
# limiter's RATELIMIT_STORAGE_URI when that is Redis; production refuses the rq backend without one.
JOBS_BACKEND = "thread"
JOBS_REDIS_URL = None
JOBS_QUEUE = "msc"
JOBS_TIMEOUT_SECONDS = 6 * 3600
# The schedule: task name -> "every minute", "every N minutes" (UTC) or "daily at HH:MM" (in
# BABEL_DEFAULT_TIMEZONE). `flask worker` runs it (and `flask run` with the thread backend in development).
# Adding a scheduled task is one line here once a feature registers it (@task in the feature's tasks.py).
# MSC_JOBS_SCHEDULE='{"audit.anchor": "every minute", ...}' replaces the whole table.
JOBS_SCHEDULE = {
    "audit.anchor": "every minute",
    "exports.purge": "every minute",
    "jobs.prune": "every 60 minutes",
    "dpo.retention": "daily at 02:00",
    "reports.check": "daily at 03:00",
    "audit.verify": "daily at 03:30",
    "referrals.remind": "daily at 06:00",
    "continuity.escalate": "every 60 minutes",
    "continuity.onward_overdue": "daily at 06:30",
    "webhooks.deliver": "every minute",
}
# Seconds between two looks at the schedule; between two looks for queued jobs (without Redis)
JOBS_TICK_SECONDS = 5
JOBS_POLL_SECONDS = 1
# A job queued this long ago and never started is handed to the backend again (Redis lost it)
JOBS_REQUEUE_SECONDS = 300
# A running job that has not reported progress for this long lost its worker: it is marked failed
JOBS_LOST_MINUTES = 120
# Finished jobs are forgotten after this many days (each minute's routine runs after one)
JOBS_KEEP_DAYS = 90
# `flask run` runs the schedule in a thread (development, thread backend only; never gunicorn nor tests)
JOBS_SCHEDULE_IN_SERVER = False
# The retention run: anonymise, each night, the people whose retention period ended (msc/dpo/erasure.py).
# On in production, where the retention periods are the DPO's policy; off elsewhere (demo data stays).
RETENTION_AUTO = False
