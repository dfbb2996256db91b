"""Aggregate downloads: small counts hidden, and no hidden count derivable from the totals."""
import csv
import io
import itertools

from hypothesis import given, strategies as st

from msc.exports import SUPPRESSED, csv_response, suppress, suppress_table


def test_primary_suppression():
    assert [suppress(n) for n in (0, 1, 4, 5, 120)] == [0, SUPPRESSED, SUPPRESSED, 5, 120]


def test_a_single_hidden_cell_in_a_row_takes_a_second_one_with_it():
    table = suppress_table([[3, 10, 20], [12, 15, 30]])
    # 3 alone would be total − 10 − 20; the row's next smallest (10) is hidden too, and then the column
    # of 10 keeps one hidden cell, so its next smallest (15) goes as well, and so on until stable.
    assert table.cells[0][0] == SUPPRESSED and table.cells[0][1] == SUPPRESSED
    assert table.row_totals == [33, 57] and table.column_totals == [15, 25, 50]
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
        hidden = [j for j, v in enumerate(row) if v == SUPPRESSED]
        if len(hidden) == 1 and table.row_totals[i] != SUPPRESSED:
            found.append(("row", i))
    for j in range(width):
        hidden = [i for i in range(len(rows)) if rows[i][j] == SUPPRESSED]
        if len(hidden) == 1 and table.column_totals[j] != SUPPRESSED:
            found.append(("col", j))
    return found


@given(st.lists(st.lists(st.integers(0, 40), min_size=3, max_size=3), min_size=1, max_size=5))
def test_no_hidden_cell_is_ever_alone_in_a_line_with_a_shown_total(counts):
    table = suppress_table(counts)
    assert _derivable(table) == []
    for i, j in itertools.product(range(len(counts)), range(3)):
        if 0 < counts[i][j] < 5:
            assert table.cells[i][j] == SUPPRESSED
        elif table.cells[i][j] != SUPPRESSED:
            assert table.cells[i][j] == counts[i][j]


def test_the_hxl_row_comes_second(app):
    with app.test_request_context():
        res = csv_response("t", ["Sex", "People"], [["female", "<5"]], hxl=["#sex", "#affected"])
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [["Sex", "People"], ["#sex", "#affected"], ["female", "<5"]]
