"""The learner's Progress page: learning KPIs week by week (practice, feedback, retros, lessons, fixes, tests)."""
