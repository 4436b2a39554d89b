"""Blameless reviews (seed §6): trigger and scope, a timeline of facts, contributing factors, the
counterfactual, and the two closing lists: fixes (tracked actions) and assumptions to test."""
