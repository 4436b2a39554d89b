"""Reappraisal after a setback, and the 20-minute recovery routine."""
