"""The golden table: questions with answers computed independently with pandas over the generated records
(and from the billing generator's truth.json), never through the question compiler.

Counts and ranked labels must be equal; rates are ratios of integer sums and must be equal; means and the
composite (sums of floats, whose order differs between pandas and DuckDB) must agree to 1e-9 relative.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from backend.ask import answer_question
from metrics.questions.intent import Answer

DAY = pd.Timedelta(days=1)
RATES = {"item_accuracy": "item_accurate", "cancellation_rate": "cancelled", "support_rate": "support_contact"}
MEANS = {"avg_delivery_minutes": "delivery_minutes", "courier_minutes_per_order": "courier_minutes"}


class Truth:
    """Independent answers over the records."""

    def __init__(self, d: pd.DataFrame):
        self.d = d
        self.t = d.created_at
        self.valid_on_time = d.delivered_at.notna() & d.promised_at.notna()
        self.on_time = (d.delivered_at <= d.promised_at) & self.valid_on_time
        self.all = pd.Series(True, index=d.index)

    def rng(self, a: str, b: str) -> pd.Series:
        return (self.t >= pd.Timestamp(a)) & (self.t < pd.Timestamp(b))

    def where(self, **eq) -> pd.Series:
        mask = self.all.copy()
        for col, val in eq.items():
            mask &= self.d[col] == val
        return mask

    def value(self, metric: str, mask: pd.Series) -> float:
        d = self.d
        if metric == "on_time_rate":
            v = self.valid_on_time & mask
            return int(self.on_time[v].sum()) / int(v.sum())
        if metric in RATES:
            col = d[RATES[metric]]
            v = col.notna() & mask
            return int(col[v].astype(bool).sum()) / int(v.sum())
        if metric in MEANS:
            col = d.loc[mask, MEANS[metric]].dropna()
            return float(col.sum()) / len(col)
        if metric == "refund_per_order":
            col = d.loc[mask, "refund_amount"].dropna()
            return float(col.sum()) / len(col)
        assert metric == "cx_score"
        return (0.4 * self.value("on_time_rate", mask) + 0.3 * self.value("item_accuracy", mask)
                + 0.15 * (1.0 - self.value("cancellation_rate", mask)) + 0.15 * (1.0 - self.value("support_rate", mask)))

    def late(self, mask: pd.Series) -> int:
        return int((self.valid_on_time & ~self.on_time & mask).sum())

    def ranked(self, metric: str, dim: str, mask: pd.Series, top: int, descending: bool, prev: pd.Series | None = None,
               by_change: bool = False, negated: bool = False) -> list[tuple]:
        rows = []
        for label in sorted(self.d.loc[mask | (prev if prev is not None else mask), dim].dropna().unique()):
            g = self.d[dim] == label
            n = int((mask & g).sum())
            if n < 30 or (prev is not None and int((prev & g).sum()) < 30):
                continue
            v = self.value(metric, mask & g)
            if negated:
                v = 1.0 - v
            if prev is None:
                rows.append((label, v))
            else:
                p = self.value(metric, prev & g)
                rows.append((label, v, p))
        key = (lambda r: r[1] - r[2]) if by_change else (lambda r: r[1])
        rows.sort(key=lambda r: ((-1 if descending else 1) * key(r), r[0]))
        return rows[:top]

    def ranked_counts(self, hits: pd.Series, dim: str, mask: pd.Series, top: int, descending: bool) -> list[tuple]:
        counts = {k: int(v) for k, v in self.d.loc[mask & hits, dim].value_counts().items()}
        rows = [(g, counts.get(g, 0)) for g in self.d.loc[mask, dim].dropna().unique()]
        rows.sort(key=lambda r: ((-1 if descending else 1) * r[1], r[0]))
        return rows[:top]

    def counts_by(self, dim: str, mask: pd.Series) -> list[tuple]:
        return [(k, int(v)) for k, v in sorted(self.d.loc[mask, dim].value_counts().items())]


# Days of the generated data: the last record is on Monday 2026-03-23, so "today" is 2026-03-23, "yesterday"
# 2026-03-22, "last week" Monday 2026-03-16 to Sunday 2026-03-22 and "the week before" 2026-03-09 to 03-15.
Y = ("2026-03-22", "2026-03-23")
LAST_WEEK = ("2026-03-16", "2026-03-23")
WEEK_BEFORE = ("2026-03-09", "2026-03-16")
MARCH = ("2026-03-01", "2026-04-01")
FEB = ("2026-02-01", "2026-03-01")


def cases(T: Truth) -> list[tuple[tuple[str, ...], list[tuple]]]:
    """(questions, each a follow-up of the one before; the last one's expected rows)."""
    r, w, v = T.rng, T.where, T.value
    y, lw, wb, mar, feb = r(*Y), r(*LAST_WEEK), r(*WEEK_BEFORE), r(*MARCH), r(*FEB)
    L7 = r("2026-03-17", "2026-03-24")
    west, east = w(region="west"), w(region="east")
    return [
        # counts
        (("How many orders are there?",), [(None, len(T.d))]),
        (("how many orders were there yesterday?",), [(None, int(y.sum()))]),
        (("How many orders were late in region west yesterday?",), [(None, T.late(west & y))]),
        (("how many orders were late in the west region yesterday",), [(None, T.late(west & y))]),
        (("How many orders were late in West yesterday?",), [(None, T.late(west & y))]),
        (("how many orders were late in wset yesterday",), [(None, T.late(west & y))]),
        (("how many orders were cancelled last week",), [(None, int((T.d.cancelled & lw).sum()))]),
        (("how many orders were canceled in March",), [(None, int((T.d.cancelled & mar).sum()))]),
        (("number of orders with support contact in February",), [(None, int((T.d.support_contact & feb).sum()))]),
        (("how many orders were not late on March 5",), [(None, int((T.on_time & r("2026-03-05", "2026-03-06")).sum()))]),
        (("how many orders were on time between March 1 and March 7",),
         [(None, int((T.on_time & r("2026-03-01", "2026-03-08")).sum()))]),
        (("count of orders in the grocery category last week",), [(None, int((w(category="grocery") & lw).sum()))]),
        (("how many orders on ios were late in the last 7 days",), [(None, T.late(w(channel="ios") & L7))]),
        (("how many orders from store 12 since March 15",),
         [(None, int((w(store_id="s0012") & r("2026-03-15", "2026-03-24")).sum()))]),
        (("how many orders in region centrl today",), [(None, int((w(region="central") & r("2026-03-23", "2026-03-24")).sum()))]),
        (("how many orders were late the day before yesterday",), [(None, T.late(r("2026-03-21", "2026-03-22")))]),
        (("how many orders were late in the last 24 hours",), [(None, T.late(r("2026-03-23", "2026-03-24")))]),
        (("how many orders in resturant last month",), [(None, int((w(category="restaurant") & feb).sum()))]),
        (("how many orders on andriod this week",), [(None, int((w(channel="android") & r("2026-03-23", "2026-03-30")).sum()))]),
        (("how many orders in east and west yesterday",), [(None, int(((east | west) & y).sum()))]),
        (("how many orders by region in March",), T.counts_by("region", mar)),
        (("how many late orders by channel last week",),
         [(c, T.late(w(channel=c) & lw)) for c in sorted(T.d.channel.unique())]),
        # rates and means
        (("What was the on time rate yesterday?",), [(None, v("on_time_rate", y))]),
        (("what was the on-time rate last week?",), [(None, v("on_time_rate", lw))]),
        (("cancellation rate in March",), [(None, v("cancellation_rate", mar))]),
        (("what was the cancelation rate in region east last week",), [(None, v("cancellation_rate", east & lw))]),
        (("support rate for the web channel in February",), [(None, v("support_rate", w(channel="web") & feb))]),
        (("item accuracy in the last 3 days",), [(None, v("item_accuracy", r("2026-03-21", "2026-03-24")))]),
        (("average delivery time in the west region last week",), [(None, v("avg_delivery_minutes", west & lw))]),
        (("avg delivery minutes yesterday",), [(None, v("avg_delivery_minutes", y))]),
        (("courier minutes per order in March",), [(None, v("courier_minutes_per_order", mar))]),
        (("refund per order in February",), [(None, v("refund_per_order", feb))]),
        (("what is the cx score for grocery last week",), [(None, v("cx_score", w(category="grocery") & lw))]),
        (("what share of orders were late yesterday",), [(None, 1.0 - v("on_time_rate", y))]),
        (("percentage of orders cancelled in region north this month",),
         [(None, v("cancellation_rate", w(region="north") & mar))]),
        (("on time rate between 2026-03-01 and 2026-03-10",), [(None, v("on_time_rate", r("2026-03-01", "2026-03-11")))]),
        (("What was the on time rate in pharmacy in the past 2 weeks?",),
         [(None, v("on_time_rate", w(category="pharmacy") & r("2026-03-10", "2026-03-24")))]),
        (("cancellation rate by region last week",),
         [(g, v("cancellation_rate", w(region=g) & lw)) for g in sorted(T.d.region.unique())]),
        # comparisons
        (("What was the on time rate last week vs the week before?",),
         [(None, v("on_time_rate", lw), v("on_time_rate", wb))]),
        (("cancellation rate yesterday compared to the day before",),
         [(None, v("cancellation_rate", y), v("cancellation_rate", r("2026-03-21", "2026-03-22")))]),
        (("how many orders were late in east last week vs the previous week",), [(None, T.late(east & lw), T.late(east & wb))]),
        (("avg delivery minutes in March vs February",),
         [(None, v("avg_delivery_minutes", mar), v("avg_delivery_minutes", feb))]),
        (("cx score in March versus the month before",), [(None, v("cx_score", mar), v("cx_score", feb))]),
        (("support rate yesterday vs the week before",),
         [(None, v("support_rate", y), v("support_rate", r("2026-03-15", "2026-03-16")))]),
        # rankings
        (("Which store's cancellation rate rose most last week?",),
         T.ranked("cancellation_rate", "store_id", lw, 1, True, prev=wb, by_change=True)),
        (("which region had the highest cancellation rate in March",), T.ranked("cancellation_rate", "region", mar, 1, True)),
        (("which region had the worst on time rate last week",), T.ranked("on_time_rate", "region", lw, 1, False)),
        (("which region had the best avg delivery minutes in March",), T.ranked("avg_delivery_minutes", "region", mar, 1, False)),
        (("top 5 stores by cancellation rate in March",), T.ranked("cancellation_rate", "store_id", mar, 5, True)),
        (("top 3 categories by on time rate last week",), T.ranked("on_time_rate", "category", lw, 3, True)),
        (("bottom 2 regions by item accuracy in February",), T.ranked("item_accuracy", "region", feb, 2, False)),
        (("which channel had the lowest support rate yesterday",), T.ranked("support_rate", "channel", y, 1, False)),
        (("which region's on time rate dropped most last week vs the week before",),
         T.ranked("on_time_rate", "region", lw, 1, False, prev=wb, by_change=True)),
        (("which 3 stores worsened most in on time rate last week",),
         T.ranked("on_time_rate", "store_id", lw, 3, False, prev=wb, by_change=True)),
        (("which category improved most in cancellation rate in March vs February",),
         T.ranked("cancellation_rate", "category", mar, 1, False, prev=feb, by_change=True)),
        (("top 3 regions by late share last week",), T.ranked("on_time_rate", "region", lw, 3, True, negated=True)),
        (("which store had the most orders last week",), T.ranked_counts(T.all, "store_id", lw, 1, True)),
        (("which region had the most late orders yesterday",),
         T.ranked_counts(T.valid_on_time & ~T.on_time, "region", y, 1, True)),
        (("which 2 channels had the fewest cancelled orders in March",),
         T.ranked_counts(T.d.cancelled, "channel", mar, 2, False)),
        (("how many orders of 4-6 items",), [(None, int(w(basket_bucket="4-6").sum()))]),
        (("on time rate for basket bucket 7+ last week",), [(None, v("on_time_rate", w(basket_bucket="7+") & lw))]),
        # follow-ups
        (("How many orders were late in region west yesterday?", "and the week before?"),
         [(None, T.late(west & r("2026-03-15", "2026-03-16")))]),
        (("How many orders were late in region west last week?", "and the week before?"), [(None, T.late(west & wb))]),
        (("what was the cancellation rate last week", "only for store 12"),
         [(None, v("cancellation_rate", w(store_id="s0012") & lw))]),
        (("what was the cancellation rate last week", "what about region east?"), [(None, v("cancellation_rate", east & lw))]),
        (("what was the cancellation rate in region east last week", "and in March?"),
         [(None, v("cancellation_rate", east & mar))]),
        (("on time rate in region west last week", "and region east?"), [(None, v("on_time_rate", east & lw))]),
        (("on time rate last week", "and by region?"),
         [(g, v("on_time_rate", w(region=g) & lw)) for g in sorted(T.d.region.unique())]),
        (("on time rate by region last week", "overall?"), [(None, v("on_time_rate", lw))]),
        (("how many orders were late last week", "vs the week before?"), [(None, T.late(lw), T.late(wb))]),
        (("cancellation rate in March", "and the month before?"), [(None, v("cancellation_rate", feb))]),
    ]


def _ask_chain(opened, questions: tuple[str, ...]) -> Answer:
    context = None
    answer = None
    for q in questions:
        answer = answer_question(*opened, q, context)
        assert answer.answered, f"{q!r} refused: {answer.text}"
        context = answer.intent
    assert answer is not None
    return answer


def _same(a: float | None, b: float) -> bool:
    if a is None:
        return False
    return a == b or math.isclose(a, b, rel_tol=1e-9)


def _check(answer: Answer, expected: list[tuple]) -> None:
    got = [(r.label, r.value) + ((r.previous_value,) if len(expected[0]) == 3 else ()) for r in answer.rows]
    assert len(got) == len(expected), (answer.text, got, expected)
    for g, e in zip(got, expected):
        assert g[0] == e[0], (answer.text, got, expected)
        assert all(_same(x, y) for x, y in zip(g[1:], e[1:])), (answer.text, got, expected)


@pytest.fixture(scope="module")
def table(cx_records):
    return cases(Truth(cx_records))


def test_golden_table_is_large_enough(table):
    assert len(table) >= 60


@pytest.mark.parametrize("i", range(71))
def test_golden(i, cx_open, table):
    if i >= len(table):
        pytest.fail(f"the golden table has {len(table)} cases, the parametrization {i + 1}")
    questions, expected = table[i]
    assert expected, questions
    _check(_ask_chain(cx_open, questions), expected)
