"""Crash points for the crash tests: with BILLING_CRASH_AT=<name>, the process kills itself (SIGKILL, no
cleanup, no finally) when it reaches the point of that name, as a power cut or an OOM kill would."""
import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("BILLING_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
