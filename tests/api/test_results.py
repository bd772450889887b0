"""The API's result types on hand-made values: MotifSteering without an RD row, and
MotifHierarchy.at outside the beta the path covers."""

from __future__ import annotations

import math

import pytest

from motif_discovery import HierarchyEvent, MotifHierarchy, MotifSteering, SteeringRow


def steering_row(method: str, selection: str, B: int, spearman: float | None) -> SteeringRow:
    return SteeringRow(
        method=method,
        selection=selection,
        B=B,
        epsilons=[-1.0, 1.0],
        changes=None if spearman is None else [-spearman, spearman],
        pearson=spearman,
        spearman=spearman,
        usable=spearman is not None,
        reason=None if spearman is not None else "no candidate features",
        features=[],
        members=[],
    )


def test_steering_without_rd_gives_none_and_row_names_what_is_there():
    result = MotifSteering(4, [steering_row("Single", "full", 3, 0.5)])
    assert result.methods == ["Single"]
    assert result.spearman is None and result.pearson is None and result.changes is None
    assert result.row("Single").spearman == 0.5
    with pytest.raises(LookupError, match=r"motif 4.*'RD'.*\('Single', 'full', 3\)"):
        result.row()
    with pytest.raises(LookupError, match="selection 'positive'"):
        result.row("Single", selection="positive")
    with pytest.raises(LookupError, match="B 10"):
        result.row("Single", B=10)
    assert MotifSteering(4, []).spearman is None


def test_steering_picks_rd_first_selection_largest_b():
    rows = [
        steering_row("Single", "full", 10, 0.1),
        steering_row("RD", "full", 3, 0.2),
        steering_row("RD", "full", 10, 0.3),
        steering_row("RD", "positive", 10, 0.4),
    ]
    result = MotifSteering(0, rows)
    assert result.methods == ["Single", "RD"]
    assert result.spearman == 0.3 and result.changes == [-0.3, 0.3]
    assert result.row("RD", "positive").spearman == 0.4
    assert result.row("RD", B=3).spearman == 0.2


def event(beta: float, K: int) -> HierarchyEvent:
    return HierarchyEvent(beta, K, "split", [], [], [0] * 4, [1.0 / K] * K)


@pytest.mark.parametrize("beta_end", [2.0, None])
def test_hierarchy_at(beta_end):
    events = [event(0.0, 1), event(0.5, 2), event(1.5, 3)]
    hierarchy = MotifHierarchy("p", 0.5, "K_clamp", beta_end, events)
    assert [hierarchy.at(b).K for b in (0.0, 0.49, 0.5, 1.0, 1.5, 2.0)] == [1, 1, 2, 2, 3, 3]
    for bad in (-1.0, -1e-9, math.nan):
        with pytest.raises(ValueError, match="beta must be >= 0"):
            hierarchy.at(bad)
    if beta_end is None:
        assert hierarchy.at(1e9).K == 3
    else:
        with pytest.raises(ValueError, match=r"beyond beta_end 2\.0.*K_clamp"):
            hierarchy.at(2.5)


def test_hierarchy_at_before_the_first_event():
    hierarchy = MotifHierarchy("p", 0.5, "no_split", None, [event(0.25, 1), event(1.0, 2)])
    assert hierarchy.at(0.0) is hierarchy.events[0]
