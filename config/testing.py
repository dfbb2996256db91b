"""The test suite: each test app gets its own database and keys (see tests/conftest.py)."""

TESTING = True
GENERATE_KEYS = True
SESSION_COOKIE_SECURE = False
RATELIMIT_ENABLED = False
SECRET_KEY = "testing-only-secret-key"
JOBS_BACKEND = "inline"  # a test runs the queued jobs when it wants (msc.jobs.runner.run_queued)
WEBHOOK_ALLOW_HTTP = True  # a receiver on this machine (the tests', or one tried by hand)
WEBHOOK_ALLOW_PRIVATE = True
