"""The reference's labour rules, one farmer at a time (ODD 7.7 and 7.11): what its
land needs, what it hires, what its household earns off the farm, and the wage at
which it values a day of labour."""

from __future__ import annotations

import math


def whole(x: float) -> float:
    """``math.floor`` that keeps an infinite bound infinite (a division by a
    vanishing cost or labour need)."""
    return x if math.isinf(x) else math.floor(x)


def days_needed(cells_by_cover: list[int], days_per_ha: list[float], cell_ha: float) -> float:
    """Labour (person-days/yr) that land of ``cells_by_cover`` needs."""
    days = 0.0
    for cover, n in enumerate(cells_by_cover):
        days += n * days_per_ha[cover]
    return days * cell_ha


def marginal_wage(free_days: float, labour) -> float:
    """The value (USD/person-day) of one more day of labour on the farm.

    Parameters
    ----------
    free_days : float
        Household days its land does not need.
    labour : LabourParams

    Returns
    -------
    float
        0 while some spare days find no off-farm work, the off-farm wage while they
        all do, the hired wage once there is no spare day.
    """
    if free_days > labour.off_farm_days_per_year:
        return 0.0
    if free_days > 0:
        return labour.off_farm_wage_usd_per_day
    return labour.hired_wage_usd_per_day


def cells_within_labour(
    extra_days: float, cost: float, needed: float, family: float, savings: float, labour
) -> float:
    """Cells a farmer can add that each need ``extra_days`` more days a year and
    ``cost`` USD up front: with its spare days first, then with hired days that
    its savings pay for in the first year, with the cost.

    Parameters
    ----------
    extra_days : float
        Person-days a year per cell.
    cost : float
        USD per cell paid up front.
    needed, family : float
        Days its land needs now, and the household's days.
    savings : float
        USD.
    labour : LabourParams

    Returns
    -------
    float
        A whole number of cells, or inf.
    """
    wage, cap = labour.hired_wage_usd_per_day, labour.max_hired_days_per_year
    short = max(needed - family, 0.0)
    free = max(family - needed, 0.0)
    hireable = max(cap - short, 0.0)
    cash = max(savings - wage * min(short, cap), 0.0)
    by_cash = whole(cash / cost) if cost > 0 else math.inf
    if extra_days <= 0:
        return by_cash
    by_family = whole(free / extra_days)
    if by_cash <= by_family:
        return by_cash
    per_cell = cost + wage * extra_days
    by_hired_cash = whole((cash + wage * free) / per_cell) if per_cell > 0 else math.inf
    by_hired_days = whole((free + hireable) / extra_days)
    return max(by_family, min(by_hired_cash, by_hired_days))


def work(needed: float, family: float, savings: float, labour) -> tuple[float, float, float]:
    """A year's labour on and off the farm.

    Parameters
    ----------
    needed, family : float
        Days the land needs, and the household's days.
    savings : float
        USD, out of which hired labour is paid.
    labour : LabourParams

    Returns
    -------
    hired, off_farm, worked_share : float
        Days hired (up to the cap, as far as savings pay), days worked off the farm
        (up to the jobs there are), and the share of the land's labour it had.
    """
    wage = labour.hired_wage_usd_per_day
    short = max(needed - family, 0.0)
    hired = min(short, labour.max_hired_days_per_year)
    if wage > 0:
        hired = min(hired, savings / wage)
    off_farm = min(max(family - needed, 0.0), labour.off_farm_days_per_year)
    worked = (family + hired) / needed if hired < short else 1.0
    return hired, off_farm, worked
