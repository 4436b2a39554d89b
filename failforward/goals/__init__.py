"""Goals with stretch targets, and the drills that practise them."""
