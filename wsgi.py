"""Production entry point: gunicorn wsgi:app (MSC_CONFIG=production)."""
import os

from msc import create_app

app = create_app(os.environ.get("MSC_CONFIG", "production"))
