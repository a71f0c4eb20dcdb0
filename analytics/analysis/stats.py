"""Small, exact statistics: Wilson intervals, the relative risk with its (Katz) log interval, the ratio
of two means with a delta-method interval, normal quantiles, and empirical-Bayes shrinkage."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

Z95 = 1.959963984540054


def z_for(alpha: float) -> float:
    """The two-sided normal quantile: z_for(0.05) = 1.96."""
    return NormalDist().inv_cdf(1 - alpha / 2)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (0, 0 for n = 0)."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Ratio:
    """A ratio as a relative change (lift = ratio - 1) with its interval, at the z it was asked for."""

    lift: float
    low: float
    high: float


def relative_risk(hits_a: int, n_a: int, hits_b: int, n_b: int, z: float = Z95) -> Ratio:
    """(hits_a / n_a) / (hits_b / n_b) - 1 with the Katz log interval; 0.5 is added to every cell when
    one of them is empty (Haldane), so a value always or never in the top still gets a finite lift and interval."""
    a, b, c, d = float(hits_a), float(n_a - hits_a), float(hits_b), float(n_b - hits_b)
    if 0 in (a, b, c, d):
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    risk_a, risk_b = a / (a + b), c / (c + d)
    log_rr = math.log(risk_a / risk_b)
    se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return Ratio(
        lift=risk_a / risk_b - 1,
        low=math.exp(log_rr - z * se) - 1,
        high=math.exp(log_rr + z * se) - 1,
    )


@dataclass(frozen=True)
class Moments:
    n: int
    mean: float
    variance: float  # sample variance (n - 1)

    @classmethod
    def from_sums(cls, n: int, total: float, total_sq: float) -> Moments:
        if n == 0:
            return cls(0, 0.0, 0.0)
        mean = total / n
        variance = max(0.0, (total_sq - n * mean * mean) / (n - 1)) if n > 1 else 0.0
        return cls(n, mean, variance)


def ratio_of_means(a: Moments, b: Moments, z: float = Z95) -> Ratio | None:
    """mean_a / mean_b - 1 with a delta-method interval on the log scale; None when a mean is not positive."""
    if a.n < 2 or b.n < 2 or a.mean <= 0 or b.mean <= 0:
        return None
    log_ratio = math.log(a.mean / b.mean)
    se = math.sqrt(a.variance / (a.n * a.mean**2) + b.variance / (b.n * b.mean**2))
    return Ratio(
        lift=a.mean / b.mean - 1, low=math.exp(log_ratio - z * se) - 1, high=math.exp(log_ratio + z * se) - 1
    )


def shrink(cells: list[Moments]) -> tuple[float, list[float]]:
    """Empirical-Bayes (normal-normal, method of moments) means of the cells, shrunk toward the overall mean.

    A cell's estimate is overall + B * (cell mean - overall) with B = tau² / (tau² + sigma² / n): a cell
    with few posts or a noisy score stays near the overall mean.
    """
    total = sum(cell.n for cell in cells)
    if total == 0:
        return 0.0, [0.0 for _ in cells]
    overall = sum(cell.n * cell.mean for cell in cells) / total
    within_df = sum(cell.n - 1 for cell in cells if cell.n > 1)
    sigma2 = (
        sum((cell.n - 1) * cell.variance for cell in cells if cell.n > 1) / within_df if within_df else 0.0
    )
    filled = [cell for cell in cells if cell.n > 0]
    between = sum(cell.n * (cell.mean - overall) ** 2 for cell in filled) / total
    noise = sigma2 * len(filled) / total if total else 0.0
    tau2 = max(0.0, between - noise)
    estimates = []
    for cell in cells:
        if cell.n == 0 or tau2 == 0:
            estimates.append(overall)
            continue
        weight = tau2 / (tau2 + sigma2 / cell.n)
        estimates.append(overall + weight * (cell.mean - overall))
    return overall, estimates
