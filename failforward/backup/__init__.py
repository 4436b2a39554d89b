"""Backup and restore of a whole instance, for the operator: the database and the instance files that matter."""
