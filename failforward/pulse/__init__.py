"""The safety pulse: every four weeks a learner rates their coaching; the coach sees only aggregates."""
