"""Disjoint cubes that cover a lookup table: an MLP unit per cube, not per combination.

A lookup MLP over one-hot inputs opens one gate per combination of their values
(`weights.gated_units`). A gate may as well admit a *set* of values per input: the sum
of the input's one-hot dims over the set is 1 exactly where the input is in it and 0
elsewhere, so a gate over sets S_1..S_m is open exactly on the cube S_1 x .. x S_m.
Where the function is constant on large cubes (boolean logic: an `or` of six bools is
six cubes, not 64 combinations), a partition of the table into such cubes needs far
fewer units. The partition here is a decision tree: split on the input whose values
fall into the fewest groups with equal sub-tables, one branch per group, until the
table is constant; inputs the function does not depend on are never split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Cube:
    """The combinations where input i takes a value in `sets[i]` (indices into its
    values; None: any value), on all of which the table holds `output`."""

    sets: tuple[tuple[int, ...] | None, ...]
    output: int


def cover(table: np.ndarray) -> list[Cube]:
    """Disjoint cubes whose union is every combination, the table constant on each:
    `table` holds an output id per combination (one axis per input)."""
    cubes: list[Cube] = []
    _split(table, list(range(table.ndim)), [None] * table.ndim, cubes)
    return cubes


def default_output(cubes: list[Cube]) -> int | None:
    """The output most cubes write (a unit that is always on can write it, and the
    cubes that write it then need no unit), or None when there are no cubes."""
    counts = Counter(cube.output for cube in cubes)
    return counts.most_common(1)[0][0] if counts else None


def _split(table: np.ndarray, axes: list[int], sets: list, cubes: list[Cube]) -> None:
    """Cover `table` (over the inputs `axes`; the others fixed to `sets`) and append."""
    first = table.flat[0]
    if (table == first).all():
        cubes.append(Cube(tuple(sets), int(first)))
        return
    best = None
    for j in range(table.ndim):
        n = table.shape[j]
        rows = np.ascontiguousarray(np.moveaxis(table, j, 0).reshape(n, -1))
        seen: dict[bytes, int] = {}
        group_of = np.array([seen.setdefault(row.tobytes(), len(seen)) for row in rows])
        groups = len(seen)
        if groups == 1:
            continue  # the function does not depend on this input here
        # fewest branches, then fewest outputs left to tell apart below them
        firsts = [int(np.flatnonzero(group_of == g)[0]) for g in range(groups)]
        distinct = sum(len(np.unique(rows[i])) for i in firsts)
        score = (groups, distinct)
        if best is None or score < best[0]:
            best = (score, j, group_of)
    assert best is not None  # a table that is not constant depends on some input
    _, j, group_of = best
    axis = axes[j]
    rest = axes[:j] + axes[j + 1:]
    for g in range(int(group_of.max()) + 1):
        members = np.flatnonzero(group_of == g)
        branch = list(sets)
        branch[axis] = tuple(int(i) for i in members)
        _split(np.take(table, int(members[0]), axis=j), rest, branch, cubes)
