"""db.listing: the first rows of a list and how many there are in all, the count asked only when needed."""

import pytest
import sqlalchemy as sa

from msc.centres.models import Centre
from msc.db import listing, session
from tests.conftest import statements_run


@pytest.fixture
def three(ctx, make):
    for code in ("COL-CUC", "COL-IPI", "PER-TUM"):
        make.centre(code, f"CAM {code}", code[:3])
    return sa.select(Centre).order_by(Centre.code)


@pytest.mark.parametrize(
    ("limit", "shown", "statements"),
    [(5, 3, 1), (4, 3, 1), (3, 3, 2), (2, 2, 2), (1, 1, 2)],
)
def test_the_count_is_asked_only_of_a_list_that_fills_its_limit(three, limit, shown, statements):
    with statements_run(session.get_bind()) as seen:
        found = listing(three, limit)
    assert [c.code for c in found.items] == ["COL-CUC", "COL-IPI", "PER-TUM"][:shown]
    assert found.total == 3 and found.more == 3 - shown
    assert len([s for s in seen if s.startswith("SELECT")]) == statements
