"""Local development: SQLite under instance/, keys generated on first run, plain-HTTP cookies."""

GENERATE_KEYS = True
SESSION_COOKIE_SECURE = False
SECRET_KEY = None  # generated into instance/secret_key on first run
JOBS_SCHEDULE_IN_SERVER = True  # `make run`: the schedule runs in the server's process (witness, purge)
WEBHOOK_ALLOW_HTTP = True  # a receiver on this machine (the tests', or one tried by hand)
WEBHOOK_ALLOW_PRIVATE = True
