"""Pre-mortems on a goal (seed §3): imagine it failed, list causes, vote on risks, and watch tripwires."""
