"""A small bounded minimiser for fitting the value models: Nelder-Mead with restarts.

Why this method: the likelihoods have three or four parameters and are smooth and cheap, but
their gradients need the digamma function, which the standard library lacks. A simplex search
needs only function values. Its known weakness is a simplex that flattens before it reaches
the minimum, so a converged run is restarted from its best point with a fresh simplex, until
a whole run gains nothing (Nelder and Mead 1965; the variant of Lagarias, Reeds, Wright and
Wright 1998, "Convergence properties of the Nelder-Mead simplex method in low dimensions").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Point = tuple[float, ...]
Objective = Callable[[Point], float]

# The standard reflection, expansion, contraction and shrink coefficients.
_REFLECT, _EXPAND, _CONTRACT, _SHRINK = 1.0, 2.0, 0.5, 0.5


class FitError(ArithmeticError):
    """The minimiser used up its evaluations, or was given nothing it could fit."""


@dataclass(frozen=True)
class Minimum:
    x: Point
    value: float
    evaluations: int
    restarts: int


class _Counted:
    """The objective, counting calls against a budget; NaN counts as +inf (worst)."""

    def __init__(self, objective: Objective, budget: int) -> None:
        self.objective = objective
        self.budget = budget
        self.calls = 0

    def __call__(self, point: Point) -> float:
        if self.calls >= self.budget:
            raise FitError(f"no convergence within {self.budget} evaluations")
        self.calls += 1
        value = self.objective(point)
        return math.inf if math.isnan(value) else value


def minimise(
    objective: Objective,
    start: Sequence[float],
    *,
    lower: Sequence[float],
    upper: Sequence[float],
    step: float = 0.1,
    ftol: float = 1e-10,
    xtol: float = 1e-9,
    max_evaluations: int = 20_000,
) -> Minimum:
    """The minimum of `objective` within the box [lower, upper], from `start`.

    Points outside the box are clamped onto it, so the objective is only ever evaluated
    inside. A run stops once its vertices' values lie within `ftol` of each other and their
    coordinates within `xtol` (both absolute: scale the objective to order one, e.g. a mean
    log-likelihood per customer). The search ends when a fresh run from the best point
    improves it by no more than `ftol`. Raises FitError past `max_evaluations`.
    """
    if not len(start) == len(lower) == len(upper) or not start:
        raise ValueError("start, lower and upper must have the same, non-zero length")
    if any(lo >= hi for lo, hi in zip(lower, upper, strict=True)):
        raise ValueError("every lower bound must be below its upper bound")

    def clamp(point: Sequence[float]) -> Point:
        return tuple(min(max(v, lo), hi) for v, lo, hi in zip(point, lower, upper, strict=True))

    counted = _Counted(objective, max_evaluations)
    best = clamp(start)
    best_value = counted(best)
    restarts = 0
    while True:
        point, value = _simplex_run(counted, best, best_value, step, clamp, ftol, xtol)
        gain = best_value - value
        if value < best_value:
            best, best_value = point, value
        if gain <= ftol:
            return Minimum(best, best_value, counted.calls, restarts)
        restarts += 1


def minimise_positive(
    objective: Objective,
    start: Sequence[float],
    *,
    lower: float = 1e-8,
    upper: float = 1e8,
    step: float = 0.1,
    ftol: float = 1e-10,
    xtol: float = 1e-9,
    max_evaluations: int = 20_000,
) -> Minimum:
    """`minimise` for strictly positive parameters, searched on their logarithms.

    Shape and scale parameters span orders of magnitude; on a log scale one step size suits
    them all, and positivity needs no constraint. `xtol` is then relative.
    """
    if lower <= 0:
        raise ValueError("lower must be positive")
    n = len(start)
    found = minimise(
        lambda logs: objective(tuple(math.exp(v) for v in logs)),
        [math.log(v) for v in start],
        lower=[math.log(lower)] * n,
        upper=[math.log(upper)] * n,
        step=step,
        ftol=ftol,
        xtol=xtol,
        max_evaluations=max_evaluations,
    )
    return Minimum(
        tuple(math.exp(v) for v in found.x), found.value, found.evaluations, found.restarts
    )


def _simplex_run(
    f: _Counted,
    start: Point,
    start_value: float,
    step: float,
    clamp: Callable[[Sequence[float]], Point],
    ftol: float,
    xtol: float,
) -> tuple[Point, float]:
    """One Nelder-Mead run from a fresh simplex: `start` and one step along each axis."""
    vertices = [start]
    for i in range(len(start)):
        moved = list(start)
        moved[i] += step
        vertex = clamp(moved)
        if vertex == start:  # against the upper bound: step the other way
            moved[i] = start[i] - step
            vertex = clamp(moved)
        vertices.append(vertex)
    simplex = [(start_value, start)] + [(f(v), v) for v in vertices[1:]]
    while True:
        simplex.sort(key=lambda pair: pair[0])
        (best_value, best), (worst_value, worst) = simplex[0], simplex[-1]
        spread = max(abs(a - b) for _, v in simplex[1:] for a, b in zip(v, best, strict=True))
        if worst_value - best_value <= ftol and spread <= xtol:
            return best, best_value
        others = [v for _, v in simplex[:-1]]
        centroid = [math.fsum(c) / len(others) for c in zip(*others, strict=True)]
        # Points on the line from the worst vertex through the centroid of the others.
        line = [(c, c - w) for c, w in zip(centroid, worst, strict=True)]

        def towards(scale: float, line: list[tuple[float, float]] = line) -> Point:
            return clamp([c + scale * d for c, d in line])

        reflected = towards(_REFLECT)
        reflected_value = f(reflected)
        if reflected_value < best_value:
            expanded = towards(_REFLECT * _EXPAND)
            expanded_value = f(expanded)
            if expanded_value < reflected_value:
                simplex[-1] = (expanded_value, expanded)
            else:
                simplex[-1] = (reflected_value, reflected)
            continue
        if reflected_value < simplex[-2][0]:
            simplex[-1] = (reflected_value, reflected)
            continue
        if reflected_value < worst_value:
            contracted = towards(_REFLECT * _CONTRACT)  # outside, towards the reflection
            contracted_value = f(contracted)
            if contracted_value <= reflected_value:
                simplex[-1] = (contracted_value, contracted)
                continue
        else:
            contracted = towards(-_CONTRACT)  # inside, towards the worst vertex
            contracted_value = f(contracted)
            if contracted_value < worst_value:
                simplex[-1] = (contracted_value, contracted)
                continue
        shrunk = [
            clamp([b + _SHRINK * (x - b) for x, b in zip(v, best, strict=True)])
            for _, v in simplex[1:]
        ]
        simplex = [simplex[0]] + [(f(v), v) for v in shrunk]


def log_ridge(point: Sequence[float], penalty: float) -> float:
    """penalty * sum(log(v)^2): pulls positive parameters towards 1 on the log scale."""
    if not penalty:
        return 0.0
    return penalty * math.fsum(math.log(v) ** 2 for v in point)
