"""Time phrases of a question, read relative to the data's last timestamp: "today" is the day of the last
record, "yesterday" the day before it. Each reader returns the range and the span of text it used."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from metrics.questions.intent import TimeRange

MONTHS = {name: i + 1 for i, name in enumerate(("january", "february", "march", "april", "may", "june", "july",
                                                "august", "september", "october", "november", "december"))}
MONTHS.update({name[:3]: i for name, i in list(MONTHS.items())})
MONTHS["sept"] = 9
MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b"
DAY = r"(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?(?![0-9])"
DATE = (rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|{MONTH}\.? {DAY}(?: \d{{4}})?|{DAY} (?:of )?{MONTH}(?: \d{{4}})?)")
UNITS = {"day": 1, "week": 7, "month": 0, "hour": 0}
WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "fourteen": 14}


class TimeError(ValueError):
    """A time phrase that names no real date (e.g. February 30)."""


@dataclass(frozen=True)
class Found:
    range: TimeRange
    span: tuple[int, int]
    assumption: str | None = None


def _day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1)
    end = datetime(year + (month == 12), month % 12 + 1, 1)
    return start, end


def parse_date(text: str, last: datetime) -> tuple[date, bool]:
    """A date phrase → the date, and whether its year was assumed (the latest such date not after ``last``)."""
    text = text.strip().rstrip(".")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text), False
        except ValueError:
            raise TimeError(f"{text!r} is not a date") from None
    words = text.replace(".", "").replace(" of ", " ").split()
    year = None
    if words[-1].isdigit() and len(words[-1]) == 4:
        year = int(words.pop())
    if words[0] in MONTHS:
        month, day_text = MONTHS[words[0]], words[1]
    else:
        day_text, month = words[0], MONTHS[words[1]]
    day = int(re.sub(r"\D", "", day_text))
    assumed = year is None
    if year is None:
        year = last.year
        try:
            if date(year, month, day) > last.date():
                year -= 1
        except ValueError:
            pass
    try:
        return date(year, month, day), assumed
    except ValueError:
        raise TimeError(f"{text!r} is not a date") from None


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def find_time(text: str, last: datetime) -> Found | None:
    """The first time phrase of ``text`` (lower-case, single-spaced) and its range, or None."""
    today = last.date()
    m = re.search(rf"\b(?:between|from) ({DATE}) (?:and|to|until|through|till) ({DATE})\b", text)
    if m:
        a, assumed_a = parse_date(m.group(1), last)
        b, assumed_b = parse_date(m.group(2), last)
        if b < a:
            raise TimeError(f"{m.group(2)!r} is before {m.group(1)!r}")
        label = f"{a.isoformat()} to {b.isoformat()} (both days included)"
        return Found(TimeRange(start=_day(a), end=_day(b) + timedelta(days=1), label=label), m.span(),
                     _year_note(assumed_a or assumed_b, a))
    m = re.search(rf"\bsince ({DATE})\b", text)
    if m:
        a, assumed = parse_date(m.group(1), last)
        end = _day(today) + timedelta(days=1)
        return Found(TimeRange(start=_day(a), end=end, label=f"{a.isoformat()} to {today} (since {a.isoformat()})"),
                     m.span(), _year_note(assumed, a))
    m = re.search(r"\b(?:the )?day before yesterday\b", text)
    if m:
        d = today - timedelta(days=2)
        return Found(TimeRange(start=_day(d), end=_day(d) + timedelta(days=1), label=f"the day before yesterday ({d})"),
                     m.span(), _today_note(today))
    m = re.search(r"\byesterday\b", text)
    if m:
        d = today - timedelta(days=1)
        return Found(TimeRange(start=_day(d), end=_day(d) + timedelta(days=1), label=f"yesterday ({d})"), m.span(),
                     _today_note(today))
    m = re.search(r"\btoday\b", text)
    if m:
        return Found(TimeRange(start=_day(today), end=_day(today) + timedelta(days=1), label=f"today ({today})"),
                     m.span(), _today_note(today))
    m = re.search(r"\b(?:in |over |during |for )?(?:the )?(?:last|past|previous) (\d+|" + "|".join(WORD_NUMBERS)
                  + r") (day|week|hour)s?\b", text)
    if m:
        k = int(m.group(1)) if m.group(1).isdigit() else WORD_NUMBERS[m.group(1)]
        if k < 1 or k > 10_000:
            raise TimeError(f"{m.group(0)!r}: give a number of {m.group(2)}s from 1 to 10000")
        if m.group(2) == "hour":
            end = last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            start = end - timedelta(hours=k)
            return Found(TimeRange(start=start, end=end, label=f"the last {k} hour(s) ({start} to {end})"), m.span(),
                         f"'the last {k} hours' end with the hour of the last record ({last})")
        days = k * UNITS[m.group(2)]
        start_d = today - timedelta(days=days - 1)
        return Found(TimeRange(start=_day(start_d), end=_day(today) + timedelta(days=1),
                               label=f"the last {days} days ({start_d} to {today})"), m.span(),
                     f"'the last {k} {m.group(2)}(s)' are the {days} days ending with {today}, the day of the last record")
    m = re.search(r"\b(?:in |during |over )?(?:the )?(last|this|previous) (week|month)\b", text)
    if m:
        if m.group(2) == "week":
            this_start = _week_start(today)
            first = this_start if m.group(1) == "this" else this_start - timedelta(days=7)
            after = first + timedelta(days=7)
            label = f"{m.group(1)} week ({first} to {after - timedelta(days=1)}, Monday to Sunday)"
            note = f"weeks run Monday to Sunday; 'this week' holds {today}, the day of the last record"
            return Found(TimeRange(start=_day(first), end=_day(after), label=label), m.span(), note)
        if m.group(1) == "this":
            s, e = _month_range(today.year, today.month)
        else:
            prev = today.replace(day=1) - timedelta(days=1)
            s, e = _month_range(prev.year, prev.month)
        label = f"{m.group(1)} month ({s:%B %Y})"
        return Found(TimeRange(start=s, end=e, label=label), m.span(),
                     f"'this month' is {today:%B %Y}, the month of the last record")
    m = re.search(rf"\b(?:on |for )?({DATE})", text)
    if m:
        d, assumed = parse_date(m.group(1), last)
        return Found(TimeRange(start=_day(d), end=_day(d) + timedelta(days=1), label=f"{d.isoformat()}"), m.span(),
                     _year_note(assumed, d))
    m = re.search(rf"\b(?:in|during|for|over) ({MONTH})(?: (\d{{4}}))?", text)
    if m:
        month = MONTHS[m.group(1)]
        if m.group(2):
            year, assumed = int(m.group(2)), False
        else:
            year, assumed = (today.year if month <= today.month else today.year - 1), True
        s, e = _month_range(year, month)
        said = f"{m.group(1)} read as {s:%B %Y}, the latest one up to the last record" if assumed else None
        return Found(TimeRange(start=s, end=e, label=f"{s:%B %Y}"), m.span(), said)
    return None


def _today_note(today: date) -> str:
    return f"'today' is {today}, the day of the last record"


def _year_note(assumed: bool, d: date) -> str | None:
    return f"a date without a year is read as the latest one up to the last record ({d.year})" if assumed else None


def shifted(rng: TimeRange, unit: str) -> TimeRange:
    """``rng`` moved back by one ``unit`` (day, week, month) or, for ``period``, by its own length."""
    if unit == "month":
        whole = _month_range(rng.start.year, rng.start.month)
        if (rng.start, rng.end) == whole:
            prev = rng.start - timedelta(days=1)
            s, e = _month_range(prev.year, prev.month)
            return TimeRange(start=s, end=e, label=f"the month before ({s:%B %Y})")
        unit = "period"
    step = {"day": timedelta(days=1), "week": timedelta(days=7)}.get(unit, rng.end - rng.start)
    start, end = rng.start - step, rng.end - step
    last_day = end - timedelta(seconds=1)
    span = f"{start:%Y-%m-%d}" if last_day.date() == start.date() else f"{start:%Y-%m-%d} to {last_day:%Y-%m-%d}"
    name = {"day": "the day before", "week": "the week before"}.get(unit, "the period before")
    return TimeRange(start=start, end=end, label=f"{name} ({span})")
