"""`make bench-lessons`: lessons search p95 for a learner with 5,000 lessons on SQLite, against a bare route.

In process, with Flask's test client, in the same run: the bare route is the floor (routing, the
security headers, a session), so the ratio says what the search itself costs on this machine. The
issue's budget is 50 ms at the 95th percentile.
"""

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORDS = ["pager", "alert", "triage", "runbook", "handover", "dashboard", "deploy", "rollback", "backlog", "estimate",
         "review", "meeting", "focus", "sleep", "warmup", "tempo", "interval", "recovery", "notes", "draft", "feedback",
         "coach", "metric", "latency", "queue", "timer", "checklist", "context", "switch", "fatigue", "rushed",
         "unclear", "ownership"]
QUERIES = ["runbook", "pager triage", "handover notes", "rollback deploy", "fatigue", "dash", "coach feedback",
           "queue latency", "nothingmatches", "rushed unclear"]


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    """Made-up words, so that like real notes most words are rare and a search matches a small share."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "de", "pa", "gri", "sto", "bel", "mar", "tin"]
    return list(dict.fromkeys("".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(size * 2)))[:size]


def _text(rng: random.Random, vocabulary: list[str], words: int) -> str:
    # One word in five from the domain words the queries use; the rest Zipf-like from the vocabulary.
    return " ".join(rng.choice(WORDS) if rng.random() < 0.2 else vocabulary[min(int(rng.paretovariate(1.1)) - 1,
                                                                                 len(vocabulary) - 1)]
                    for _ in range(words))


def _percentile(samples: list[float], share: float) -> float:
    return statistics.quantiles(sorted(samples), n=100, method="inclusive")[int(share * 100) - 1]


def _fill(learner, count: int) -> None:
    from failforward.extensions import db
    from failforward.lessons.models import Lesson, LessonTag

    rng = random.Random(5)
    vocabulary = _vocabulary(rng)
    tags = [LessonTag(learner_id=learner.id, kind=kind, name=name) for kind, names in
            (("system", ["pager", "deploy", "dashboard", "notes"]), ("root-cause", ["rushed", "unclear", "tired"]),
             ("metric", ["response time", "error rate"])) for name in names]
    db.session.add_all(tags)
    start = datetime(2026, 3, 4, tzinfo=UTC).date()
    for i in range(count):
        chosen = rng.sample(tags, 2)
        db.session.add(Lesson(
            learner_id=learner.id, happened_on=start - timedelta(days=i % 700), idempotency_key=f"bench-{i}",
            context=_text(rng, vocabulary, 8), what_failed=_text(rng, vocabulary, 14),
            what_tried=_text(rng, vocabulary, 10), try_next=_text(rng, vocabulary, 12),
            check_on=start + timedelta(days=30 - i % 60), tags=chosen, tags_text=" ".join(t.name for t in chosen),
            shared=i % 3 == 0))
        if i % 1000 == 999:
            db.session.commit()
    db.session.commit()


def _time(client, url: str, rounds: int, headers=None) -> list[float]:
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = client.get(url, headers=headers or {})
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def main() -> None:
    """Build the data set in a temporary SQLite file and print the p50/p95 of the search and the bare route."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=200, help="requests per query form")
    args = parser.parse_args()

    from failforward import create_app
    from failforward.accounts.models import User
    from failforward.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'bench.sqlite3'}",
                          "SECRET_KEY": "bench-secret-key-0123456789-0123456789", "INSTANCE_PATH": folder,
                          "TESTING": True, "WTF_CSRF_ENABLED": False, "HUEY_IMMEDIATE": True})
        app.add_url_rule("/bench/bare", "bench_bare", lambda: "ok")
        with app.app_context():
            db.create_all()
            learner = User(name="Bench Learner", email="bench@example.com", password_hash="x")
            db.session.add(learner)
            db.session.commit()
            _fill(learner, args.lessons)
            login_id = learner.get_id()
            db.session.remove()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = login_id, True

        _time(client, "/bench/bare", 20)
        bare = _time(client, "/bench/bare", args.rounds * 2)
        page, fragment = [], []
        for query in QUERIES:
            _time(client, f"/lessons?q={query}", 3)
            page += _time(client, f"/lessons?q={query}", max(1, args.rounds // len(QUERIES)))
            fragment += _time(client, f"/lessons?q={query}", max(1, args.rounds // len(QUERIES)),
                              headers={"HX-Request": "true", "HX-Target": "lesson-results"})
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    floor = _percentile(bare, 0.95)
    print(f"lessons search, {args.lessons} lessons of one learner, SQLite FTS5, in-process test client")
    for name, samples in (("bare route", bare), ("search page", page), ("search fragment (htmx)", fragment)):
        p50, p95 = statistics.median(samples), _percentile(samples, 0.95)
        print(f"  {name:24} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   p95/bare {p95 / floor:6.1f}x   n={len(samples)}")
    worst = max(_percentile(page, 0.95), _percentile(fragment, 0.95))
    print(f"  budget: p95 under 50 ms -> {'met' if worst < 50 else 'NOT met'} ({worst:.1f} ms)")


if __name__ == "__main__":
    main()
