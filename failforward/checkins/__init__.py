"""The weekly check-in: an email at the learner's chosen hour, answered on one form."""
