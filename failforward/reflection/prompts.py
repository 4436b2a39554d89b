"""The reappraisal library: prompts we wrote, grouped by the situation they fit.

Seed §8: emotions after failure are data, not destiny; a reappraisal reinterprets the event so the
feeling stops locking in a conclusion. The keys are stored with each reflection, so never reuse one.
"""

SITUATIONS = {
    "missed-target": "I missed a target",
    "public-mistake": "I made a mistake in front of others",
    "plateau": "I am stuck on a plateau",
    "bad-review": "I got a bad review or harsh feedback",
    "streak-broken": "I broke a streak",
    "other": "Something else",
}

SHORT = {"missed-target": "A missed target", "public-mistake": "A public mistake", "plateau": "A plateau",
         "bad-review": "A bad review", "streak-broken": "A broken streak"}

PROMPTS: dict[str, list[tuple[str, str]]] = {
    "missed-target": [
        ("narrowed", "This miss rules out one way of doing it. Fewer options left means I am closer to the one "
                     "that works."),
        ("next-rep", "The last attempt is finished and fixed. The next one is still open, and it is mine to shape."),
        ("stretch-signal", "A target I always hit would be too easy to teach me anything. Missing it shows where "
                           "the edge of my skill is today."),
        ("one-variable", "I can name one thing to change before the next try. That is what this miss was for."),
    ],
    "public-mistake": [
        ("everyone-errs", "People who watched have made mistakes like this too. Most of them will remember how "
                          "I handled it, not the slip."),
        ("visible-learning", "Making the mistake where others saw it means the lesson can help them as well."),
        ("sting-fades", "The embarrassment is loud now and will be quiet by next week. What I learn from it stays."),
    ],
    "plateau": [
        ("consolidating", "A flat stretch is often my skill settling before the next step up. Flat is not falling."),
        ("change-the-drill", "Doing the same practice gives the same result. The plateau tells me the drill needs "
                             "changing, not that I do."),
        ("measure-smaller", "Progress may be hiding in a detail I do not measure yet. I can look closer before "
                            "I judge."),
    ],
    "bad-review": [
        ("free-data", "Someone spent time telling me where I fall short. That is information I could not see "
                      "on my own."),
        ("work-not-worth", "The review is about this piece of work. It says nothing final about what I can become."),
        ("one-true-thing", "I can find the one point in it that is fair and act on that, and let the rest go."),
    ],
    "streak-broken": [
        ("system-not-self", "The routine produced exactly what it was set up to produce. I will change the "
                            "routine, not blame myself."),
        ("restart-counts", "A streak is a tool, not the goal. Starting again tomorrow counts for more than the "
                           "number I lost."),
        ("what-got-in-the-way", "The break shows me what gets in the way. Now I can plan around it."),
    ],
}


def library() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The library for display: (situation key, situation label, prompts) in a fixed order."""
    return [(key, SITUATIONS[key], PROMPTS[key]) for key in PROMPTS]


def prompt_text(key: str) -> str | None:
    """The text of one library prompt, or None for an unknown key."""
    for prompts in PROMPTS.values():
        for prompt_key, text in prompts:
            if prompt_key == key:
                return text
    return None
