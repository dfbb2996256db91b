"""Aggregate downloads: small counts hidden, and no hidden count derivable from the totals."""

import csv
import io
import itertools

from hypothesis import given
from hypothesis import strategies as st

from msc.exports import SUPPRESSED, WITHHELD, csv_response, suppress, suppress_table


def test_primary_suppression():
    assert [suppress(n) for n in (0, 1, 4, 5, 120)] == [0, SUPPRESSED, SUPPRESSED, 5, 120]


def test_a_single_hidden_cell_in_a_row_takes_a_second_one_with_it():
    table = suppress_table([[3, 10, 20], [12, 15, 30]])
    # 3 alone would be total − 10 − 20; the row's next smallest (10) is hidden too, and then the column
    # of 10 keeps one hidden cell, so its next smallest (15) goes as well, and so on until stable.
    assert table.cells[0][0] == SUPPRESSED and table.cells[0][1] == WITHHELD
    assert table.row_totals == [33, 57] and table.column_totals == [15, 25, 50] and table.total == 90
    assert _derivable(table) == []


def test_when_nothing_else_can_hide_it_the_total_is_hidden():
    table = suppress_table([[2, 0, 0], [0, 9, 8]])
    assert table.cells[0][0] == SUPPRESSED and table.row_totals[0] == SUPPRESSED
    assert _derivable(table) == []


def test_nothing_small_nothing_hidden():
    table = suppress_table([[10, 20], [30, 40]])
    assert table.cells == [[10, 20], [30, 40]] and table.row_totals == [30, 70] and table.column_totals == [40, 60]


def _derivable(table):
    """Hidden cells a reader could compute from a shown total and the shown cells of that line."""
    found = []
    rows, width = table.cells, len(table.column_totals)
    for i, row in enumerate(rows):
        hidden = [j for j, v in enumerate(row) if v in HIDDEN]
        if len(hidden) == 1 and table.row_totals[i] not in HIDDEN:
            found.append(("row", i))
    for j in range(width):
        hidden = [i for i in range(len(rows)) if rows[i][j] in HIDDEN]
        if len(hidden) == 1 and table.column_totals[j] not in HIDDEN:
            found.append(("col", j))
    for name, totals in (("row totals", table.row_totals), ("column totals", table.column_totals)):
        if sum(t in HIDDEN for t in totals) == 1 and table.total not in HIDDEN:
            found.append((name, "grand total"))
    return found


HIDDEN = (SUPPRESSED, WITHHELD)


@given(st.lists(st.lists(st.integers(0, 40), min_size=3, max_size=3), min_size=1, max_size=5))
def test_no_hidden_cell_is_ever_alone_in_a_line_with_a_shown_total(counts):
    table = suppress_table(counts)
    assert _derivable(table) == []
    for i, j in itertools.product(range(len(counts)), range(3)):
        if 0 < counts[i][j] < 5:
            assert table.cells[i][j] == SUPPRESSED
        elif table.cells[i][j] != WITHHELD:
            assert table.cells[i][j] == counts[i][j]


def test_the_hxl_row_comes_second(app):
    with app.test_request_context():
        res = csv_response("t", ["Sex", "People"], [["female", "<5"]], hxl=["#sex", "#affected"])
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [["Sex", "People"], ["#sex", "#affected"], ["female", "<5"]]


def test_a_hidden_total_cannot_be_recovered_from_the_grand_total():
    # Row totals 3 and 14: with the grand total 17 shown, 14 would give the 3 away, so it is withheld.
    table = suppress_table([[0, 3, 0], [9, 5, 0]])
    assert table.row_totals == [SUPPRESSED, WITHHELD] and table.total == 17
    assert _derivable(table) == []


def test_small_counts_say_less_than_five_and_the_others_hidden_with_them_say_x():
    table = suppress_table([[0, 3, 0], [9, 5, 0]])
    assert table.cells == [[0, SUPPRESSED, 0], [9, WITHHELD, 0]]
    assert table.column_totals == [9, 8, 0]


def test_without_column_totals_only_rows_count():
    table = suppress_table([[2, 7], [7, 9]], with_column_totals=False)
    assert table.cells == [[SUPPRESSED, WITHHELD], [7, 9]] and table.row_totals == [9, 16]
