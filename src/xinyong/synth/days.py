"""Calendar arithmetic the generator needs, kept free of wall-clock time."""

import random
from datetime import date, timedelta


def uniform_day(rng: random.Random, first: date, last: date) -> date:
    """A day drawn evenly from ``first`` to ``last`` inclusive (``first`` if the span is empty)."""
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (or earlier); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
