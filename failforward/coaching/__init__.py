"""Coaching links between a coach and a learner, their learning contract, and who may see what."""
