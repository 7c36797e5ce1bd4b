"""The suite's servers are its own: another instance on the machine neither breaks nor shares them."""
import stripe

from tests.servers import LocalStripe


def test_two_localstripes_at_once_keep_their_own_stores(localstripe_server, tmp_path):
    localstripe_server.reset()
    other = LocalStripe().start()
    try:
        mine = stripe.StripeClient("sk_test_a", base_addresses={"api": localstripe_server.url})
        theirs = stripe.StripeClient("sk_test_b", base_addresses={"api": other.url})
        created = mine.v1.customers.create(params={"name": "mine"})
        theirs.v1.customers.create(params={"name": "theirs"})
        assert [c.name for c in mine.v1.customers.list().data] == ["mine"]
        assert [c.name for c in theirs.v1.customers.list().data] == ["theirs"]
        assert mine.v1.customers.retrieve(created.id).name == "mine"
    finally:
        other.stop()
