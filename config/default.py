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
LOCKOUT_THRESHOLD = 5
LOCKOUT_MINUTES = 15
RATELIMIT_ENABLED = True
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = False

# Languages.
LANGUAGES = ["es", "pt_BR", "en"]
BABEL_DEFAULT_LOCALE = "es"
BABEL_DEFAULT_TIMEZONE = "UTC"

# Forms.
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
MAX_CONTENT_LENGTH = 1 * 1024 * 1024

# Search.
SEARCH_PAGE_SIZE = 10
# Bits kept of each blind-index HMAC, per kind: a value shares its hash with a few others by chance.
# (name_typo hashes are kept in the name vocabulary, which is linked to no person.)
BLIND_INDEX_BITS = {
    "name": 20,
    "name_phonetic": 20,
    "name_typo": 20,
    "name_lead": 20,
    "dob": 14,
    "document": 16,
    "phone": 16,
}

# Referrals: hours a partner has to answer, by urgency.
REFERRAL_DEADLINE_HOURS = {"emergency": 24, "urgent": 72, "routine": 168}

DEBUG = False
TESTING = False
HSTS = False

# Public feedback page: sends per address, and the least time a person takes to write (spam without captchas)
FEEDBACK_RATE_LIMIT = "5 per hour"
FEEDBACK_MIN_SECONDS = 3

# Break-the-glass: minutes an emergency access to another centre's record lasts before it ends by itself
BREAK_GLASS_MINUTES = 60

# Retention: years a person's data is kept after their last case closed, for countries with no policy set
RETENTION_YEARS = 5
