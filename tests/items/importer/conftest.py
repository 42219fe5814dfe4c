import pytest

from tests.fixtures.live_site import create_live_site, drop_live_site


@pytest.fixture
def live_site(request):
    """An empty live site (schema, bucket) of this test's own, dropped at its end."""
    site = create_live_site(request.node.name.replace("test_", "")[:20].lower())
    yield site
    drop_live_site(site)
