"""Every script in `examples/` runs to completion and prints what the documentation says it prints.

The documentation includes these scripts verbatim, so a failing example is a broken page.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# Lines (or fragments of lines) each documented example must print. Scripts not listed
# here must still exit 0 and print something.
EXPECTED: dict[str, list[str]] = {
    "postgres_outbox.py": [
        "applied 4 migrations",
        "order 1 rolled back (card declined): 0 chains stored",
        "chain completed: {'sent': True, 'order_id': 2}",
        "orders=[2] chains=1",
    ],
    "quickstart.py": [
        "(pending), ",
        "(blocked)",
        "e-mail taken, transaction rolled back: no user, no chains",
        "e-mail sent to ada@example.com",
        "e-mail sent to grace@example.com",
        "completed: {'user_id': 1, 'tip': 'Try the keyboard shortcuts'}",
        "completed: {'user_id': 2, 'tip': 'Try the keyboard shortcuts'}",
        "users: 2, chains: 4, all completed: True",
        "database removed",
    ],
    "getting_started.py": [
        "started chain expenses.approve with status pending",
        "{'approved': True, 'approver': 'alice'}",
    ],
    "workerless_completion.py": [
        "current job: refunds.request (index 0, pending)",
        "after the hand-off the chain is pending",
        "chain completed with output {'refunded_cents': 2999, 'reviewer': 'sam'}",
        "second approval refused: Job ",
        "#0 refunds.request  completed_by=None output=None",
        "#1 refunds.review   completed_by=None output={'refunded_cents': 2999, 'reviewer': 'sam'}",
    ],
    "outbox_rollback.py": [
        "inside the transaction: notifications=0 events=[]",
        "committed, hooks not flushed yet: notifications=0 events=[]",
        "after the hooks flushed: notifications=1 events=['chain_created', 'job_created']",
        "rolled back: chain exists=False, notifications=0 events=[]",
        "savepoint rolled back: kept 1 new chain, stored invoices=['inv-1', 'inv-3'], notifications=1",
        "manual mode, committed but not flushed: notifications=0 events=[]",
        "manual mode, flushed: notifications=1 events=['chain_created', 'job_created']",
        "receipts sent after commit: ['receipt for inv-7']",
        "in-process adapter refused a read without tx_ctx",
        "with tx_ctx the read works: status=pending",
    ],
    "job_types_and_blockers.py": [
        "continue_with refers to unknown job type 'broken.missing'",
        "'broken.dead_end' declares no output (NoOutput) and no continue_with",
        "blocker 'broken.step' is not an entry type",
        "report chain is blocked",
        "one fetch done, report is blocked",
        "both fetches done, report is pending",
        "blocker reports.fetch {'source': 'sales'} -> {'rows': 120}",
        "invalid_blockers: ",
        "announcement waiting on an e-mail and an SMS chain: blocked",
        "router continued with reports.export_pdf",
        'invalid_continuation: Job type "reports.route_export" cannot continue to "reports.fetch"',
        "invalid_input at $.source",
    ],
    "validated_job_types.py": [
        "stored input:  {'user_id': 'u-1', 'remind_at': '2030-01-01T09:00:00+00:00'}",
        "decoded input: Reminder(user_id='u-1', remind_at=datetime.datetime(2030, 1, 1, 9, 0,",
        "invalid_input: ",
        "(caused by ValueError)",
        "static registry: invalid_input: ",
        "Reminder is not JSON-serializable",
    ],
    "client_operations.py": [
        "second start deduplicated=True, same chain=True",
        "after the first chain completed: deduplicated=False, new chain=True",
        "scheduled 60 minutes after creation",
        "triggered: due True",
        "cannot trigger: job is blocked",
        "pending sync chains in pages of [5, 5, 5]",
        "completed jobs: 1",
        "gave up after 100 ms",
        "awaited output: {'synced': 7}",
        "was aborted (cause: the request was cancelled)",
        "jobs waiting on the sync chain: ['accounts.weekly_digest']",
        "refused: the sync chain is a blocker of the digest",
        "cascade deleted ['accounts.sync', 'accounts.weekly_digest']",
    ],
    "observability_events.py": [
        "[INFO] [chain_created] Chain created",
        "[INFO] [job_completed] Job completed",
        "[ERROR] [job_type_validation_error] Invalid input",
        "'chain_created:monitoring.ping': 1",
        "job durations recorded: 1",
        "INFO queuert: [job_created] Job created",
    ],
    "dashboard.py": [
        "api: 6 chains, 3 completed, blocked: ['2026-12']",
        "page: served under /queuert/: True",
    ],
    "otel_trace.py": [
        "order chain completed: {'tracking': 'TRK-1042'}",
        "└── create chain.shop.place (producer)",
        "    ├── create job.shop.charge (producer) ~> link to start job-attempt.shop.place (attempt 1)",
        "    │   │   └── resolve chain.shop.fraud_check (consumer)",
        "attempt 1 on payments: failed [ConnectionError: payment gateway timed out]",
        "            └── complete chain.shop.place (consumer) ~> link to create chain.shop.place",
        "queuert.job.attempt.failed{chain.type=shop.place, job.type=shop.charge, worker.id=payments} 1",
        "queuert.job.completed{chain.type=shop.place, job.continued=False, job.type=shop.ship, worker.id=payments} 1",
        "queuert.job_type.idle{job.type=shop.charge, worker.id=payments} 0",
    ],
}


# Arguments for scripts that would otherwise run until stopped.
ARGUMENTS: dict[str, list[str]] = {"dashboard.py": ["--check", "--port", "0"]}


def test_every_documented_example_exists() -> None:
    assert set(EXPECTED) <= {path.name for path in EXAMPLES}


@pytest.mark.parametrize("script", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script), *ARGUMENTS.get(script.name, [])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}\n{result.stderr}"
    assert result.stdout.strip(), f"{script.name} printed nothing"
    missing = [line for line in EXPECTED.get(script.name, []) if line not in result.stdout]
    assert not missing, f"{script.name} did not print {missing}; it printed:\n{result.stdout}"


def test_rolled_back_start_leaves_no_log_entry() -> None:
    """The observability example's rolled-back start (host db2) must not appear in its console log."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "observability_events.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert '"host": "db2"' not in result.stdout
    assert '"host": "db1"' in result.stdout
