"""localstripe with a store of its own.

localstripe keeps its whole store in the fixed file /tmp/localstripe.pickle and rewrites it on every
change, so two instances on one machine share state (a demo and the test suite, two checkouts). This
launcher keeps the store in memory instead, private to the process: `python scripts/stripe_sandbox.py --port N`.
"""
import sys

from localstripe import resources, server


def _in_memory(self, *args, **kwargs):
    """Neither read nor write /tmp/localstripe.pickle: the store lives and dies with this process."""


resources.Store.try_load_from_disk = _in_memory
resources.Store.dump_to_disk = _in_memory

if __name__ == "__main__":
    sys.argv[0] = "localstripe"
    server.start()
