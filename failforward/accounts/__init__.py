"""Accounts: sign-up, sign-in, passwords, settings, deleting an account."""
