"""`make bench-export`: "Download my data" for a year of practice (730 reps, 300 study items with 3,000
reviews) and for a heavy study account (20,000 items, 200,000 reviews), on SQLite, timed in-process with
the Flask test client against a bare route timed in the same run. Prints figures; never fails.
The issue's budget: a year of reps exports in under 2 seconds."""

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.study import build

ACCOUNTS = {"a year of practice": (300, 3_000, 730), "a heavy study account": (20_000, 200_000, 730)}


def add_reps(app, learner_id: int, reps: int) -> None:
    """A goal, a drill and `reps` reps, two a day going back from now."""
    from failforward import clock
    from failforward.extensions import db
    from failforward.goals.models import Drill, Goal
    from failforward.ledger.models import Rep

    now = clock.now()
    with app.app_context():
        goal = Goal(learner_id=learner_id, title="Answer pages faster", bottleneck="Slow triage", metric_name="time",
                    unit="min", direction="lower", baseline=10, target=3, weeks_required=4, aggregation="median")
        db.session.add(goal)
        db.session.flush()
        drill = Drill(goal_id=goal.id, learner_id=learner_id, name="Triage drill", practises="triage",
                      planned_reps_per_week=14, feedback_source="coach", time_box_minutes=20)
        db.session.add(drill)
        db.session.flush()
        db.session.execute(db.insert(Rep), [
            {"learner_id": learner_id, "goal_id": goal.id, "drill_id": drill.id, "value": 3 + n % 7,
             "duration_minutes": 20, "outcome": ("hit", "partial", "miss")[n % 3], "note": f"Rep {n}: kept calm",
             "adjustment": "Slow down", "idempotency_key": f"bench-{n}", "performed_at": now - timedelta(hours=12 * n),
             "logged_at": now - timedelta(hours=12 * n)} for n in range(reps)])
        db.session.commit()


def measure(name: str, items: int, reviews: int, reps: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ff-bench-export-") as tmp:
        folder = Path(tmp)
        app, learner_id = build(folder / "bench.sqlite3", folder, items, reviews)
        add_reps(app, learner_id, reps)
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.com", "password": "bench pass 123"})
        timings: dict[str, list[float]] = {"bare route": [], "first bytes": [], "download my data": []}
        size = 0
        for round_ in range(rounds + 2):
            begin = time.perf_counter()
            client.get("/bench/bare")
            timings["bare route"].append((time.perf_counter() - begin) * 1000)
            begin = time.perf_counter()
            response = client.get("/account/export", buffered=False)
            pieces = iter(response.response)
            body = [next(pieces)]
            timings["first bytes"].append((time.perf_counter() - begin) * 1000)
            body += list(pieces)
            timings["download my data"].append((time.perf_counter() - begin) * 1000)
            response.close()
            assert response.status_code == 200, response.status_code
            size = sum(map(len, body))
            if round_ == 1:
                for samples in timings.values():
                    samples.clear()  # warm-up done
        bare = statistics.median(timings["bare route"])
        export = timings["download my data"]
        print(f"{name}: {reps} reps, {items:,} study items, {reviews:,} reviews -> ZIP of {size / 1e6:.1f} MB")
        first = statistics.median(timings["first bytes"])
        print(f"  bare route p50 {bare:8.2f} ms;  first bytes p50 {first:8.1f} ms ({first / bare:.0f}x bare);  "
              f"whole archive p50 {statistics.median(export):8.1f} ms, max {max(export):8.1f} ms "
              f"({statistics.median(export) / bare:.0f}x bare; {rounds} rounds)")
        from failforward.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    for name, (items, reviews, reps) in ACCOUNTS.items():
        measure(name, items, reviews, reps, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
