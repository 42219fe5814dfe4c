import pytest

from tests.fixtures.site import make_item


@pytest.fixture
def item(alice):
    """Alice's item, tagged "map", with one version."""
    return make_item(alice, "Alice's Map", tags=["map"])
