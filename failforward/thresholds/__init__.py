"""Contract thresholds as rules, and the follow-ups (a lesson or a review) they make due."""
