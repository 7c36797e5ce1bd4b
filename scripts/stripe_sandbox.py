"""localstripe with a store of its own, and Stripe's `created` filter on the list of PaymentIntents.

localstripe keeps its whole store in the fixed file /tmp/localstripe.pickle and rewrites it on every
change, so two instances on one machine share state (a demo and the test suite, two checkouts). This
launcher keeps the store in memory instead, private to the process: `python scripts/stripe_sandbox.py --port N`.
localstripe refuses `created` when listing PaymentIntents, which Stripe takes (`created[gte]=...`, also gt, lt,
lte: Unix seconds); the finance close pack lists them from its month on (billing/finance.py).
"""
import operator
import sys

from localstripe import resources, server
from localstripe.errors import UserError


def _in_memory(self, *args, **kwargs):
    """Neither read nor write /tmp/localstripe.pickle: the store lives and dies with this process."""


resources.Store.try_load_from_disk = _in_memory
resources.Store.dump_to_disk = _in_memory

COMPARISONS = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _list_payment_intents(cls, url, created=None, **kwargs):
    """localstripe's listing, then Stripe's `created` filter, before the page is cut from it."""
    listing = resources.StripeObject._api_list_all.__func__(cls, url, **kwargs)
    if created is not None:
        if not isinstance(created, dict) or not set(created) <= set(COMPARISONS):
            raise UserError(400, "Bad request")
        for name, bound in created.items():
            listing._list = [item for item in listing._list if COMPARISONS[name](item.created, int(bound))]
    return listing


resources.PaymentIntent._api_list_all = classmethod(_list_payment_intents)

if __name__ == "__main__":
    sys.argv[0] = "localstripe"
    server.start()
