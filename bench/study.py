"""`make bench-study`: starting a study session and answering an item for a learner with 20,000 items and
200,000 review logs on SQLite, timed in-process with the Flask test client; p95 against a bare route
timed in the same run. Prints the figures; never fails on a slow one."""

import argparse
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ITEMS, REVIEWS = 20_000, 200_000


def build(database: Path, folder: Path, items: int, reviews: int):
    """A learner with `items` items (most reviewed, a share due now) and `reviews` review logs, in bulk."""
    os.environ["FAILFORWARD_HUEY_FILE"] = str(folder / "huey.sqlite3")
    from failforward import clock, create_app
    from failforward.accounts.models import User
    from failforward.accounts.passwords import hash_password
    from failforward.extensions import db
    from failforward.study.models import Deck, StudyItem, StudyReview

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "bench-" + "x" * 40,
                      "INSTANCE_PATH": str(folder / "instance"), "WTF_CSRF_ENABLED": False, "TESTING": True})
    app.add_url_rule("/bench/bare", "bench_bare", lambda: "ok")
    now = clock.now()
    with app.app_context():
        db.create_all()
        learner = User(name="Bench Learner", email="bench@example.com", password_hash=hash_password("bench pass 123"))
        db.session.add(learner)
        db.session.flush()
        decks = [Deck(learner_id=learner.id, name=f"Deck {d}") for d in range(20)]
        db.session.add_all(decks)
        db.session.flush()
        item_rows = []
        for i in range(items):
            reviewed = i % 10 != 0  # one in ten is still new
            item_rows.append({
                "deck_id": decks[i % 20].id, "learner_id": learner.id, "prompt": f"Prompt {i}", "answer": f"Answer {i}",
                "explanation": "", "tags": "", "self_judged": False, "created_at": now - timedelta(days=200),
                "state": 2 if reviewed else 1, "step": None if reviewed else 0,
                "stability": 10.0 if reviewed else None, "difficulty": 5.0 if reviewed else None,
                # One reviewed item in five is due now; the rest within the next 60 days.
                "due": now - timedelta(hours=i % 48) if i % 5 == 1 else now + timedelta(days=1 + i % 60),
                "last_review": now - timedelta(days=5 + i % 30) if reviewed else None,
                "first_reviewed_at": now - timedelta(days=100 + i % 90) if reviewed else None,
                "reviews": 10 if reviewed else 0, "failures": i % 6 if reviewed else 0,
                "first_correct": (i % 3 != 0) if reviewed else None, "last_correct": (i % 4 != 0) if reviewed else None,
                "recovered": reviewed and i % 3 == 0 and i % 4 != 0})
        db.session.execute(db.insert(StudyItem), item_rows)
        ids = list(db.session.scalars(db.select(StudyItem.id).where(StudyItem.last_review.is_not(None))))
        review_rows = []
        for n in range(reviews):
            at = now - timedelta(days=180) + timedelta(minutes=n * 1.2)
            correct = n % 5 != 0
            review_rows.append({
                "item_id": ids[n % len(ids)], "learner_id": learner.id, "given_answer": "x", "confidence": 1 + n % 5,
                "matched": correct, "answered_at": at, "rating": 3 if correct else 1, "correct": correct,
                "error_class": None if correct else ("near_miss", "related", "unrelated", "unknown")[n % 4],
                "note": "", "reviewed_at": at, "review_duration_ms": 4000, "due_after": at + timedelta(days=3)})
        db.session.execute(db.insert(StudyReview), review_rows)
        db.session.commit()
        learner_id = learner.id
    return app, learner_id


def percentile(samples: list[float], share: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(share * 100) - 1]


def main(argv: list[str] | None = None) -> int:
    """Build the data, time the three requests, print p50/p95 in ms and p95 as a ratio to the bare route."""
    parser = argparse.ArgumentParser(prog="python -m bench.study", description=__doc__)
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--reviews", type=int, default=REVIEWS)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ff-bench-study-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        app, learner_id = build(folder / "bench.sqlite3", folder, args.items, args.reviews)
        print(f"built {args.items:,} items and {args.reviews:,} review logs in {time.perf_counter() - started:.1f} s")
        from failforward.extensions import db
        from failforward.study.models import StudyReview

        client = app.test_client()
        client.post("/login", data={"email": "bench@example.com", "password": "bench pass 123"})
        timings: dict[str, list[float]] = {"bare route": [], "start a session": [], "answer an item": [],
                                           "rate it (FSRS)": []}

        def timed(name: str, call, *args, **kwargs):
            begin = time.perf_counter()
            response = call(*args, **kwargs)
            timings[name].append((time.perf_counter() - begin) * 1000)
            assert response.status_code in (200, 303), (name, response.status_code)
            return response

        for round_ in range(args.rounds + 20):
            timed("bare route", client.get, "/bench/bare")
            page = timed("start a session", client.get, "/study/session")
            item_id = int(page.get_data(as_text=True).split("/study/items/")[1].split("/")[0])
            timed("answer an item", client.post, f"/study/items/{item_id}/answer",
                  data={"given_answer": "wrong", "confidence": "4"})
            with app.app_context():
                review_id = db.session.scalar(db.select(StudyReview.id).where(
                    StudyReview.learner_id == learner_id, StudyReview.rating.is_(None)))
            rating = "1" if round_ % 3 == 0 else "3"
            timed("rate it (FSRS)", client.post, f"/study/reviews/{review_id}/rate",
                  data={"rating": rating, "error_class": "related"})
            if round_ == 19:
                for samples in timings.values():
                    samples.clear()  # warm-up done
        bare = percentile(timings["bare route"], 0.95)
        print(f"{'request':<18}{'p50 ms':>9}{'p95 ms':>9}{'p95 / bare':>12}"
              f"   ({args.rounds} rounds, SQLite, in-process)")
        for name, samples in timings.items():
            p95 = percentile(samples, 0.95)
            print(f"{name:<18}{statistics.median(samples):>9.2f}{p95:>9.2f}{p95 / bare:>12.1f}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
