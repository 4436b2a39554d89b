"""`make bench`: build the data set, serve it under gunicorn, load each endpoint, print and save the figures.

Everything lives in a temporary folder (database, queue file, server log) that is removed afterwards,
unless --keep is given. The run is bounded: a warm-up and a fixed window per endpoint.
"""

import argparse
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench import load, report, server


def build_database(database: Path, folder: Path) -> dict:
    """Create the schema in a fresh SQLite file and fill it with the bench data set.

    The schema comes from the models (db.create_all), not the migrations: the bench measures the code
    in the working tree, whose models may be ahead of the last migration while a feature is in progress.
    """
    os.environ["FAILFORWARD_HUEY_FILE"] = str(folder / "huey.sqlite3")  # read when failforward.tasks is imported
    from bench.app import BENCH_WRITES
    from bench.dataset import generate
    from failforward import create_app
    from failforward.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": server.SECRET_KEY,
                      "INSTANCE_PATH": str(folder / "instance")})
    with app.app_context():
        db.create_all()
        BENCH_WRITES.create(db.engine)
        dataset = generate()
        db.session.remove()
        db.engine.dispose()
    return {"coach": dataset.coach_email, "learners": dataset.learner_emails, "password": dataset.password,
            "counts": dataset.counts}


def count_writes(database: Path, result: load.ScenarioResult, reps_before: int) -> report.WriteCheck:
    """Compare the reps the clients were told were saved with the rows in the table."""
    with sqlite3.connect(database) as connection:
        found = {key for (key,) in connection.execute(
            "SELECT idempotency_key FROM rep WHERE idempotency_key LIKE ?", (load.LOAD_KEY_PREFIX + "%",))}
        reps_after = connection.execute("SELECT count(*) FROM rep").fetchone()[0]
    connection.close()
    expected = set(result.saved_keys)
    return report.WriteCheck(sent=result.sent_writes, answered_ok=len(expected), found=len(found & expected),
                             lost=len(expected - found), unanswered_but_saved=len(found - expected),
                             reps_before=reps_before, reps_after=reps_after)


def _server_errors(log: Path) -> list[str]:
    """What went wrong in the server: gunicorn's errors (a worker timeout, say) and the last line of
    each traceback the app logged, in order."""
    if not log.exists():
        return []
    return [line for line in log.read_text().splitlines()
            if "[ERROR]" in line or "[CRITICAL]" in line
            or (line and not line[0].isspace() and re.match(r"^[\w.]+(Error|Exception)\b", line))]


def _accounts(scenario: load.Scenario, people: dict, clients: int) -> list[list[str]]:
    """Who each client signs in as: a different learner each for the pages; for the writes, every learner
    spread over the clients (a few each), so no one learner's day fills up with hundreds of reps."""
    learners = people["learners"]
    if scenario.role == "learner" and scenario.method == "POST":
        return [learners[i::clients] for i in range(clients)]
    if scenario.role == "learner":
        return [[learners[i % len(learners)]] for i in range(clients)]
    if scenario.role == "coach":
        return [[people["coach"]] for _ in range(clients)]
    return [[] for _ in range(clients)]


def main(argv: list[str] | None = None) -> int:
    """Run the whole bench; exit 1 only when the run broke or a write was lost, never on a slow figure."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per endpoint not recorded (default 2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per endpoint (default 10)")
    parser.add_argument("--only", nargs="+", choices=[s.name for s in load.SCENARIOS], help="run only these")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, server log)")
    args = parser.parse_args(argv)
    # The ceiling and the floors always run: every figure is stated against them.
    scenarios = [s for s in load.SCENARIOS if not args.only or s.name in args.only or s.target in ("ceiling", "floor")]

    started = time.monotonic()
    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="failforward-bench-"))
    database = folder / "bench.sqlite3"
    try:
        print(f"bench: building the data set in {database} ...", flush=True)
        people = build_database(database, folder)
        print("bench: data set " + ", ".join(f"{k} {v}" for k, v in people["counts"].items()), flush=True)
        results = []
        with server.gunicorn(database, folder, args.workers) as app_server:
            # Writes go last, so the pages are measured on the data set as generated.
            for scenario in sorted(scenarios, key=lambda s: s.method == "POST"):
                print(f"bench: {scenario.name}: {args.clients} clients, {args.warmup:g} s warm-up, "
                      f"{args.duration:g} s measured ...", flush=True)
                results.append(load.run(scenario, host=server.HOST, port=app_server.port, clients=args.clients,
                                        accounts=_accounts(scenario, people, args.clients),
                                        password=people["password"], warmup=args.warmup, duration=args.duration,
                                        server_cpu=app_server.worker_cpu_seconds))
        server_errors = _server_errors(folder / "gunicorn.log")
        results.sort(key=lambda r: [s.name for s in load.SCENARIOS].index(r.scenario.name))
        rep_run = next((r for r in results if r.scenario.target == "write"), None)
        writes = count_writes(database, rep_run, people["counts"]["reps"]) if rep_run else None
    except Exception:
        log = folder / "gunicorn.log"
        if log.exists():
            print(f"bench: the run broke; the end of the server log:\n{log.read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        if args.keep:
            print(f"bench: kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    settings = {"load_average_before": load_before, "clients": args.clients, "gunicorn_workers": args.workers,
                "worker_class": "sync",
                "warmup_s": args.warmup, "measured_s": args.duration, "database": "sqlite (WAL)",
                "total_run_s": round(time.monotonic() - started, 1)}
    print()
    print(f"failforward bench: {args.clients} clients, gunicorn {args.workers} sync workers, SQLite, "
          f"{os.cpu_count()} CPUs; {args.duration:g} s per endpoint after {args.warmup:g} s warm-up")
    print(report.table(results, writes))
    retries = {r.scenario.name: r.sign_in_retries for r in results if r.sign_in_retries}
    if retries:
        print(f"\nsign-ins answered with a server error and retried once: {retries}")
    if server_errors:
        examples = "; ".join(sorted(set(server_errors))[:3])
        print(f"\nthe server logged {len(server_errors)} exception(s), e.g.: {examples}")
    cpus = os.cpu_count() or 1
    print(f"\nmachine load before the run (1-minute average): {load_before:.1f} on {cpus} CPUs"
          + (": other processes were competing for the CPUs, so req/s and latency are noisy; CPU ms much less"
             if load_before > cpus / 2 else ""))
    settings["server_exceptions"] = server_errors[:20]
    settings["sign_in_retries"] = retries
    path = report.save(results, writes, people["counts"], settings)
    print(f"\nfigures saved to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}; "
          f"whole run {settings['total_run_s']} s")
    return 1 if writes is not None and (writes.lost or writes.found != writes.answered_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
