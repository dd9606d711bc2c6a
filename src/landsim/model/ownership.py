"""Who may change which cell: the ownership index the yearly processes read.

What the ownership layers (owner, claim, protected) imply is computed once and
kept across years: at the start of each year the model checks the layers against
the copies kept here and builds the index afresh only if something other than the
model changed them (the model keeps index and copies in step when farms claim
land, see :meth:`Ownership.record_clearing`, and the check brings them in step
with settlers' new lots, see :meth:`Ownership.matches`).
"""

from __future__ import annotations

import numpy as np

from landsim.landscape import NO_OWNER, Landscape


class Ownership:
    """The ownership index of a landscape.

    Parameters
    ----------
    landscape : Landscape
    protected_can_change : bool
        ``landscape.protected_can_change`` of the scenario.

    Attributes
    ----------
    changeable : bool ndarray
        Flat mask of the cells whose cover may change (all but protected ones,
        unless the scenario lets protected cells change).
    farm_of : int ndarray
        Flat: the farm that owns each cell, else the farm that may claim it, else -1.
    may_clear : bool ndarray
        Flat: cells a farm may clear (its own, or unowned cells it may claim).
    owned, owned_farm : int ndarrays
        Flat indices of the owned cells (raster order) and their owners.
    owned_changeable : bool ndarray or None
        ``changeable[owned]``, or None when every owned cell may change.
    """

    def __init__(self, landscape: Landscape, protected_can_change: bool):
        ls = landscape
        protected = ls.protected.ravel()
        if protected_can_change:
            self.changeable = np.ones(protected.shape, dtype=bool)
        else:
            self.changeable = ~protected
        owner, claim = ls.owner.ravel(), ls.claim.ravel()
        # A farm may clear its own cells and the unowned cells it can claim.
        self.farm_of = np.where(owner >= 0, owner, claim)
        self.may_clear = self.changeable & (self.farm_of >= 0)
        self._layers = (
            ls.owner.copy(),
            ls.claim.copy(),
            ls.protected.copy(),
            protected_can_change,
        )
        self._index_owned(np.flatnonzero(owner >= 0), owner)
        #: Farm ids from here on are new to the index (settlers' farms).
        self._new_farms_from = int(self.owned_farm.max()) + 1 if self.owned.size else 0

    def matches(self, landscape: Landscape, protected_can_change: bool) -> bool:
        """Whether the layers are those this index was built from (or kept in step
        with).

        Cells that were neither owned nor claimable and have been given to farms
        new to the index (settlers' lots) are taken into the index and copies
        here, as a fresh index would hold them; any other change of the layers
        (such as land given to a farm the index knows) is a mismatch.
        """
        owner, claim, protected, can_change = self._layers
        if not (
            can_change == protected_can_change
            and np.array_equal(claim, landscape.claim)
            and np.array_equal(protected, landscape.protected)
        ):
            return False
        if np.array_equal(owner, landscape.owner):
            return True
        return self._take_new_lots(landscape)

    def _take_new_lots(self, landscape: Landscape) -> bool:
        """Take into the index the cells whose owner changed from none, on cells no
        farm could claim, to a farm new to the index; False (nothing changed) if
        any other did."""
        kept = self._layers[0].ravel()
        owner = landscape.owner.ravel()
        cells = np.flatnonzero(kept != owner)
        farms = owner[cells]
        if not ((kept[cells] == NO_OWNER).all() and (self.farm_of[cells] == NO_OWNER).all()):
            return False
        if not (farms >= self._new_farms_from).all():
            return False
        kept[cells] = farms
        self.farm_of[cells] = farms
        self.may_clear[cells] = self.changeable[cells]
        owned = np.insert(self.owned, np.searchsorted(self.owned, cells), cells)
        self._index_owned(owned, owner)
        self._new_farms_from = int(farms.max()) + 1
        return True

    def _index_owned(self, owned: np.ndarray, owner: np.ndarray) -> None:
        self.owned, self.owned_farm = owned, owner[owned]
        changeable = self.changeable[owned]
        self.owned_changeable = None if changeable.all() else changeable

    def record_clearing(
        self, landscape: Landscape, cleared: np.ndarray, cleared_farm: np.ndarray, claimed
    ) -> None:
        """Keep the index in step after the model cleared ``cleared`` (by
        ``cleared_farm``), of which ``claimed`` were unowned and are now owned.

        Who may clear a cell does not change: the farm that claimed it owns it.
        """
        kept_owner, kept_claim, _, _ = self._layers
        kept_owner.ravel()[cleared] = cleared_farm
        kept_claim.ravel()[cleared] = NO_OWNER
        if claimed.size:  # the owned cells are those of before and the claimed ones
            claimed = np.sort(claimed)
            owned = np.insert(self.owned, np.searchsorted(self.owned, claimed), claimed)
            self._index_owned(owned, landscape.owner.ravel())
