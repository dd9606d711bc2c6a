"""Labour (ODD 7.7 and 7.11): the household's labour, hired labour and off-farm
work.

Each land use needs labour every year (``labour_days_per_ha`` of its section).
The household's own labour (``farmers.labour_days_per_year``) is an endowment, not
a hard limit: a farm whose land needs more hires workers at
``labour.hired_wage_usd_per_day``, up to ``labour.max_hired_days_per_year`` and as
far as its savings pay; household days the farm does not need go to off-farm work
at ``labour.off_farm_wage_usd_per_day``, up to ``labour.off_farm_days_per_year``.
Land whose labour is not covered produces in proportion to the labour it gets.

In the decision, a day of labour is valued at the household's marginal wage
(:func:`marginal_wage`): nothing while it has days that neither the farm nor
off-farm work takes, the off-farm wage while its spare days go to off-farm work,
and the hired wage once it has no spare days. So labour-intensive land uses compete
with clearing through the wage (Angelsen & Kaimowitz 2001).

References
----------
Angelsen, A., & Kaimowitz, D. (Eds.) (2001). Agricultural Technologies and
Tropical Deforestation. CABI / CIFOR.
Escobal, J. (2001). The determinants of nonfarm income diversification in rural
Peru. World Development, 29(3), 497-508.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from landsim.model.state import SYSTEMS, system_params
from landsim.scenario import LabourParams, Scenario


def labour_days_per_ha(params: Scenario) -> np.ndarray:
    """Labour (person-days/ha/yr) of each cover, by cover code; forest needs none."""
    return np.array(
        [0.0 if s.forest else system_params(s, params).labour_days_per_ha for s in SYSTEMS]
    )


def days_needed(area_cells: np.ndarray, days_per_ha: np.ndarray, cell_size_ha: float):
    """Labour (person-days/yr) each farm's land needs, from its cells of each cover
    (shape (n_farms, n_covers))."""
    return area_cells @ days_per_ha * cell_size_ha


@dataclass(frozen=True)
class LabourBalance:
    """Each farm's labour against what its land needs (person-days/yr).

    Attributes
    ----------
    free_days : ndarray
        Household days the land does not need.
    hireable_days : ndarray
        Days it may still hire beyond those its land already needs hired.
    cash_usd : ndarray
        Savings left once the hired labour its land already needs is paid.
    """

    free_days: np.ndarray
    hireable_days: np.ndarray
    cash_usd: np.ndarray


def balance(
    needed: np.ndarray, family: np.ndarray, savings: np.ndarray, labour: LabourParams
) -> LabourBalance:
    """The :class:`LabourBalance` of farms whose land needs ``needed`` days."""
    short = np.maximum(needed - family, 0.0)
    hired = np.minimum(short, labour.max_hired_days_per_year)
    return LabourBalance(
        free_days=np.maximum(family - needed, 0.0),
        hireable_days=np.maximum(labour.max_hired_days_per_year - short, 0.0),
        cash_usd=np.maximum(savings - labour.hired_wage_usd_per_day * hired, 0.0),
    )


def marginal_wage(free_days: np.ndarray, labour: LabourParams) -> np.ndarray:
    """The value (USD/person-day) of one more day of labour on the farm: 0 while
    the household has days neither the farm nor off-farm work takes, the off-farm
    wage while its spare days all go to off-farm work, the hired wage once it has
    no spare day."""
    return np.where(
        free_days > labour.off_farm_days_per_year,
        0.0,
        np.where(free_days > 0, labour.off_farm_wage_usd_per_day, labour.hired_wage_usd_per_day),
    )


def labour_cap(
    extra_days_per_cell: float, cost_usd_per_cell, labour: LabourBalance, wage: float
) -> np.ndarray:
    """Cells a farm can add that each need ``extra_days_per_cell`` more days a year
    and ``cost_usd_per_cell`` up front: first with its free days, then with hired
    days paid, like the cost, from its savings.

    The first year's hired labour is paid from savings with the establishment
    cost, so hired labour never exceeds what savings pay for.
    """
    cost = np.asarray(cost_usd_per_cell, dtype=np.float64)
    if cost.ndim:
        return _labour_cap_per_farm(extra_days_per_cell, cost, labour, wage)
    # One cost for every farm (no programme support): the same elementwise
    # arithmetic as ``_labour_cap_per_farm``, with the scalar tests made once.
    cost = float(cost)
    cash, free = labour.cash_usd, labour.free_days
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        by_cash = np.floor(cash / cost) if cost > 0 else np.full(cash.shape, np.inf)
        if extra_days_per_cell <= 0:
            return by_cash
        by_family = np.floor(free / extra_days_per_cell)
        per_cell = cost + wage * extra_days_per_cell
        if per_cell > 0:
            with_hired = free * wage
            with_hired += cash
            with_hired /= per_cell
            np.floor(with_hired, out=with_hired)
        else:
            with_hired = np.full(cash.shape, np.inf)
        by_hired_days = free + labour.hireable_days
        by_hired_days /= extra_days_per_cell
        np.floor(by_hired_days, out=by_hired_days)
    np.minimum(with_hired, by_hired_days, out=with_hired)
    np.maximum(by_family, with_hired, out=with_hired)
    return np.where(by_cash <= by_family, by_cash, with_hired)


def _labour_cap_per_farm(
    extra_days_per_cell: float, cost: np.ndarray, labour: LabourBalance, wage: float
) -> np.ndarray:
    """:func:`labour_cap` with a cost per farm (``cost`` broadcast to the farms)."""
    cost = np.broadcast_to(cost, labour.cash_usd.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        by_cash = np.where(cost > 0, np.floor(labour.cash_usd / cost), np.inf)
        if extra_days_per_cell <= 0:
            return by_cash
        by_family = np.floor(labour.free_days / extra_days_per_cell)
        per_cell = cost + wage * extra_days_per_cell
        by_hired_cash = np.where(
            per_cell > 0,
            np.floor((labour.cash_usd + wage * labour.free_days) / per_cell),
            np.inf,
        )
        by_hired_days = np.floor((labour.free_days + labour.hireable_days) / extra_days_per_cell)
    with_hired = np.maximum(by_family, np.minimum(by_hired_cash, by_hired_days))
    return np.where(by_cash <= by_family, by_cash, with_hired)


@dataclass(frozen=True)
class Work:
    """A year's labour on and off each farm.

    Attributes
    ----------
    hired_days, off_farm_days : ndarray
        Days hired on the farm and worked off it by the household.
    worked_share : ndarray
        The share of its land's labour the farm had (1 unless short of labour).
    """

    hired_days: np.ndarray
    off_farm_days: np.ndarray
    worked_share: np.ndarray


def work(
    needed: np.ndarray, family: np.ndarray, savings: np.ndarray, labour: LabourParams
) -> Work:
    """Hire for the days the land needs beyond the household's (up to the cap and
    what savings pay), send spare household days off the farm (up to the jobs
    there are)."""
    wage = labour.hired_wage_usd_per_day
    short = np.maximum(needed - family, 0.0)
    hired = np.minimum(short, labour.max_hired_days_per_year)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if wage > 0:
            hired = np.minimum(hired, savings / wage)
        worked = np.where(hired < short, (family + hired) / needed, 1.0)
    off_farm = np.minimum(np.maximum(family - needed, 0.0), labour.off_farm_days_per_year)
    return Work(hired, off_farm, worked)
