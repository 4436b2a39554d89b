"""Feedback requests from learners to coaches, the answers, and how long they took."""
