"""The promised answer time as a rule: working days and office hours, Dutch public holidays.

`LOKETBOT_EXPECTED_ANSWER` ("2 werkdagen", "16 werkuren", "1 working day") becomes a Promise:
a ticket's deadline is that much office time after it came in, counting only office hours on
working days. Saturdays, Sundays and the public holidays of the Netherlands (from the
`holidays` package, kept up to date upstream) do not count. Every function takes the time it
works with; nothing here reads a clock.
"""

from __future__ import annotations

__all__ = ["Promise", "local_text", "parse_promise"]

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

ZONE = ZoneInfo("Europe/Amsterdam")
_PATTERN = re.compile(
    r"^\s*(\d{1,3})\s*(werkdagen|werkdag|working days?|werkuren|werkuur|working hours?|uur|hours?)"
    r"\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Promise:
    """`hours` of office time, office hours `opens`-`closes` (Amsterdam time) on working days."""

    hours: float
    label: str = ""  # as configured, e.g. "2 werkdagen"
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    remind_share: float = 0.75  # the assignee is reminded when this share of the time is gone
    _years: dict[int, frozenset[date]] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def day_hours(self) -> float:
        """Office hours in one working day."""
        start = datetime.combine(date(2000, 1, 1), self.opens)
        end = datetime.combine(date(2000, 1, 1), self.closes)
        return (end - start).total_seconds() / 3600

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not a Dutch public holiday."""
        return day.weekday() < 5 and day not in self._holidays(day.year)

    def _holidays(self, year: int) -> frozenset[date]:
        if year not in self._years:
            self._years[year] = frozenset(holidays.country_holidays("NL", years=year))
        return self._years[year]

    def add(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of office time after `start` (aware), as an aware UTC datetime."""
        local = start.astimezone(ZONE)
        left = timedelta(hours=hours)
        while True:
            day = local.date()
            opens = datetime.combine(day, self.opens, ZONE)
            closes = datetime.combine(day, self.closes, ZONE)
            if self.is_working_day(day) and local < closes:
                begin = max(local, opens)
                if begin + left <= closes:
                    return (begin + left).astimezone(UTC)
                left -= closes - begin
            local = datetime.combine(day + timedelta(days=1), self.opens, ZONE)

    def between(self, start: datetime, end: datetime) -> float:
        """Office hours from `start` to `end`; negative when `end` is earlier."""
        if end < start:
            return -self.between(end, start)
        total = 0.0
        local, stop = start.astimezone(ZONE), end.astimezone(ZONE)
        while local < stop:
            day = local.date()
            if self.is_working_day(day):
                begin = max(local, datetime.combine(day, self.opens, ZONE))
                finish = min(stop, datetime.combine(day, self.closes, ZONE))
                if finish > begin:
                    total += (finish - begin).total_seconds() / 3600
            local = datetime.combine(day + timedelta(days=1), time(0, 0), ZONE)
        return total

    def due(self, start: datetime) -> datetime:
        """The deadline of a ticket that came in at `start`."""
        return self.add(start, self.hours)

    def remind(self, start: datetime) -> datetime:
        """When the assignee of a ticket that came in at `start` is reminded."""
        return self.add(start, self.hours * self.remind_share)

    def left(self, now: datetime, due: datetime, lang: str = "nl") -> str:
        """Office time left until `due`, short: "nog 5 u", "2 u te laat" ("5 h left")."""
        hours = self.between(now, due)
        whole = round(abs(hours))
        if lang == "en":
            return f"{whole} h left" if hours >= 0 else f"{whole} h late"
        return f"nog {whole} u" if hours >= 0 else f"{whole} u te laat"


def parse_promise(text: str, *, office_hours: tuple[time, time] | None = None) -> Promise | None:
    """The promise in `text` ("2 werkdagen", "16 werkuren"); None when it is no such rule."""
    found = _PATTERN.match(text or "")
    if not found:
        return None
    amount, unit = int(found.group(1)), found.group(2).lower()
    opens, closes = office_hours or (time(9, 0), time(17, 0))
    promise = Promise(0, text.strip(), opens, closes)
    hours = amount * promise.day_hours if "dag" in unit or "day" in unit else float(amount)
    if hours <= 0:
        return None
    return Promise(hours, text.strip(), opens, closes)


def local_text(moment: datetime, lang: str = "nl") -> str:
    """A deadline as people read it: "di 8 dec 16:00" in Amsterdam time."""
    local = moment.astimezone(ZONE)
    days = {
        "nl": ("ma", "di", "wo", "do", "vr", "za", "zo"),
        "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    }[lang if lang == "en" else "nl"]
    months = {
        "nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
        "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    }[lang if lang == "en" else "nl"]
    return f"{days[local.weekday()]} {local.day} {months[local.month - 1]} {local:%H:%M}"
