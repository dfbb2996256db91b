"""Browser scenarios: Playwright drives Debian's Chromium against a live server (marker: browser)."""
