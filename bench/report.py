"""The issue's targets, the printed table, and the JSON file under bench/results/.

Each page's server CPU per request is stated as a multiple of the signed-in page floor measured in the
same run, and logging a rep as a multiple of the signed-in write floor: on a shared machine req/s and
latency move with the neighbours, while these ratios hold still."""

import json
import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.load import ScenarioResult

RESULTS = Path(__file__).resolve().parent / "results"
# Issue 16: CPU per request at most this many times its floor's (the page floor for a GET, the write
# floor for a POST); a write must also never be lost. Issue 14: the coach's overview of 50 learners at most 3x.
FLOOR_MULTIPLES = {"home": 2.5, "ledger": 3.0, "queue": 4.0, "overview": 3.0, "log_rep": 3.0}


@dataclass(frozen=True)
class WriteCheck:
    """Every POST answered 2xx/3xx must be a saved rep: counted in the database after the run."""

    sent: int
    answered_ok: int
    found: int
    lost: int  # answered ok but not in the table
    unanswered_but_saved: int  # saved although the client saw no good answer (a timeout, say)
    reps_before: int
    reps_after: int

    @property
    def failed(self) -> int:
        return self.sent - self.answered_ok


def floors(results: list[ScenarioResult]) -> dict[str, float]:
    """The CPU ms per request of the run's floors, by method: what any page (GET) or write (POST) costs."""
    return {r.scenario.method: r.server_cpu_ms_per_request for r in results if r.scenario.target == "floor"}


def verdict(result: ScenarioResult, floor_cpu: dict[str, float],
            writes: WriteCheck | None) -> tuple[float, str, bool | None]:
    """CPU per request as a multiple of its floor, what the issue asks of this endpoint, and whether it is met."""
    floor = floor_cpu.get(result.scenario.method, float("nan"))
    multiple = result.server_cpu_ms_per_request / floor if floor else float("nan")
    limit = FLOOR_MULTIPLES.get(result.scenario.name)
    if limit is None:
        return multiple, result.scenario.target, None
    met = multiple <= limit and result.good == result.requests
    if result.scenario.target != "write":
        return multiple, f"<= {limit:g}x page floor", met
    met = met and writes is not None and writes.lost == 0 and writes.failed == 0
    return multiple, f"<= {limit:g}x write floor, none lost", met


def table(results: list[ScenarioResult], writes: WriteCheck | None) -> str:
    """The figures as a fixed-width table, with the write check underneath."""
    bare_rps = next((r.requests_per_second for r in results if r.scenario.target == "ceiling"), 0.0)
    bare_cpu = next((r.server_cpu_ms_per_request for r in results if r.scenario.target == "ceiling"), float("nan"))
    floor_cpu = floors(results)
    lines = [f"{'endpoint':<30}{'req/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'vs bare':>8}{'CPU ms':>8}{'CPU vs':>7}"
             f"{'x floor':>8}  {'target':<30}{'result':<7}{'errors':>6}"]
    lines.append("-" * len(lines[0]))
    for result in results:
        multiple, target, met = verdict(result, floor_cpu, writes)
        outcome = "-" if met is None else ("meets" if met else "MISSES")
        ratio = result.requests_per_second / bare_rps if bare_rps else float("nan")
        lines.append(f"{result.scenario.label:<30}{result.requests_per_second:>7.0f}{result.p50_ms:>8.1f}"
                     f"{result.p95_ms:>8.1f}{ratio:>8.0%}{result.server_cpu_ms_per_request:>8.2f}"
                     f"{bare_cpu / result.server_cpu_ms_per_request:>7.0%}{multiple:>7.2f}x  {target:<30}"
                     f"{outcome:<7}{result.requests - result.good:>6}")
    lines.append("CPU ms: server workers' CPU time per answered request. x floor: that over the same run's signed-in")
    lines.append("floor (GET for pages, POST for writes): the targets. vs bare, CPU vs: req/s and the bare route's")
    lines.append("CPU ms over this endpoint's, against the ceiling; for information only.")
    lines.append("Floors: what every signed-in page (the layout, no content) and every POST (CSRF, one committed")
    lines.append("INSERT) costs before doing its own work; no page or write can beat its floor.")
    if writes is not None:
        lines += ["", f"rep writes: {writes.sent} POSTs sent, {writes.answered_ok} answered 2xx/3xx, "
                      f"{writes.failed} failed; expected {writes.answered_ok} saved, found {writes.found} "
                      f"(lost {writes.lost}, saved without a good answer {writes.unanswered_but_saved}); "
                      f"rep table {writes.reps_before} -> {writes.reps_after} rows"]
    for result in results:
        if result.scenario.target == "write":
            lines.append(f"largest session cookie a rep-logging client sent: {result.max_cookie_bytes} bytes")
    for result in results:
        for failure in result.failures:
            lines.append(f"  {result.scenario.name} failure: {failure}")
    return "\n".join(lines)


def save(results: list[ScenarioResult], writes: WriteCheck | None, dataset: dict, settings: dict) -> Path:
    """Write the run's figures to bench/results/<UTC time>.json (the folder is git-ignored)."""
    bare_rps = next((r.requests_per_second for r in results if r.scenario.target == "ceiling"), 0.0)
    floor_cpu = floors(results)
    endpoints = []
    for result in results:
        multiple, target, met = verdict(result, floor_cpu, writes)
        ratio = result.requests_per_second / bare_rps if bare_rps else float("nan")
        endpoints.append({
            "name": result.scenario.name, "method": result.scenario.method, "path": result.scenario.path,
            "requests": result.requests, "seconds": result.duration,
            "requests_per_second": round(result.requests_per_second, 1),
            "p50_ms": round(result.p50_ms, 2), "p95_ms": round(result.p95_ms, 2),
            "ratio_to_bare": round(ratio, 3), "cpu_vs_floor": round(multiple, 3), "target": target,
            "meets_target": met,
            "statuses": result.statuses, "failures": result.failures,
            "server_cpu_ms_per_request": round(result.server_cpu_ms_per_request, 3),
            "sign_in_retries": result.sign_in_retries,
            "max_cookie_bytes": result.max_cookie_bytes,
        })
    moment = datetime.now(UTC)
    document = {
        "at": moment.isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": settings,
        "dataset": dataset,
        "endpoints": endpoints,
        "writes": None if writes is None else {**writes.__dict__, "failed": writes.failed},
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{moment:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
