"""The lessons log: capture, tags, search, the 30-day check, weekly review and monthly synthesis."""
