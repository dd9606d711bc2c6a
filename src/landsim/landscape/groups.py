"""Stable orderings within groups (farms), used to lay out lots and to choose
cells: bit-identical and faster than ``np.lexsort``."""

from __future__ import annotations

import numpy as np


def lexsort_groups(groups: np.ndarray, key: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """``np.lexsort((uniforms, key, groups))``, several times faster.

    The three keys are folded into one float, ``(group x n_keys + rank of key) +
    uniform``: rounding the sum keeps the order of any two elements or makes them
    equal, so when the folded keys are all distinct their (unique) sorted order is
    the lexsort's; otherwise the lexsort itself is done.

    Parameters
    ----------
    groups : int ndarray
        Non-negative group labels (the primary key).
    key : ndarray
        Secondary key (any sortable dtype without NaN).
    uniforms : float ndarray
        Tie-breaking uniforms in [0, 1) (the last key).

    Returns
    -------
    ndarray
        The indices that sort the elements.
    """
    if groups.size < 2:
        return np.lexsort((uniforms, key, groups))
    values, key_rank = np.unique(key, return_inverse=True)
    folded = (groups.astype(np.int64) * values.size + key_rank) + uniforms
    order = np.argsort(folded)
    ranked = folded[order]
    if not (ranked[1:] > ranked[:-1]).all():
        return np.lexsort((uniforms, key, groups))
    return order


def rank_within_groups(sorted_groups: np.ndarray) -> np.ndarray:
    """Rank (0, 1, ...) of each element within its run of equal group labels.

    ``sorted_groups`` must be sorted (or at least grouped), e.g. the primary key
    of a ``np.lexsort``. Used to pick the first k cells of each farm.
    """
    n = sorted_groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    position = np.arange(n)
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(sorted_groups[1:], sorted_groups[:-1], out=first[1:])
    # The start of each element's run: the last run start at or before it.
    group_start = np.maximum.accumulate(np.where(first, position, 0))
    return position - group_start


# --------------------------------------------------------------------------- npz I/O
