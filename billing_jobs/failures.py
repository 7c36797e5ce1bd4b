"""What failed in a Dagster run, in the user's words: the error a step raised, not Dagster's wrapper around it."""
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
