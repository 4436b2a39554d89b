"""Browser tests: Playwright and Chromium against a live server."""
