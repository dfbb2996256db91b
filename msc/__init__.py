"""MSC Case: case management for Migrant Support Centres.

The package stays light to import: a migration, a benchmark or a test that imports `msc.crypto` does
not load every feature. The application is assembled in msc/app.py, loaded when an app is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application (msc/app.py): configuration, extensions, blueprints, hooks, errors, commands."""
    from msc.app import build_app  # every feature loads here, when an app is built, not on `import msc`

    return build_app(config_name, overrides)


def freeze_startup_objects() -> None:
    """Keep what a server process loaded at start out of the cyclic collector's way (msc/app.py)."""
    from msc.app import freeze_startup_objects as freeze

    freeze()
