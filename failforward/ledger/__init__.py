"""The practice ledger: reps, weeks, and whether a goal's target rule holds."""
