"""Production entry point: gunicorn wsgi:app (MSC_CONFIG=production)."""

import os

from msc import create_app, freeze_startup_objects

app = create_app(os.environ.get("MSC_CONFIG", "production"))
freeze_startup_objects()
