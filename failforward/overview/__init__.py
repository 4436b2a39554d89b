"""The coach's overview: every active learner on one page, sortable, with who needs the coach now."""
