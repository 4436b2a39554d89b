"""Error-based study reviews: decks, items, answer-first sessions scheduled by FSRS, and what errors became."""
