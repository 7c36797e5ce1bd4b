"""What failed in a Dagster run, in the user's words: which run, and the error a step raised, not Dagster's wrapper
around it."""
import dagster as dg
from dagster._utils.error import SerializableErrorInfo

WRAPPERS = ("billing.settings.BillingError: ",)


def step_error(error: SerializableErrorInfo) -> str:
    """The innermost cause's last line (the exception and its message), without BillingError's class path."""
    while error.cause is not None:
        error = error.cause
    line = error.message.strip().splitlines()[-1]
    for wrapper in WRAPPERS:
        line = line.removeprefix(wrapper)
    return line


def run_name(run: dg.DagsterRun) -> str:
    """The run's job; for assets launched from the asset graph, which Dagster runs under its hidden __ASSET_JOB
    (the UI's "Job: None"), the assets, since no operator knows that name (docs/operations.md, "Backfilling")."""
    if not run.job_name.startswith("__"):
        return run.job_name
    return ", ".join(sorted(key.to_user_string() for key in run.asset_selection or ())) + " (from the asset graph)"
