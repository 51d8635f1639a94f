#!/usr/bin/env python3
"""Vectorised numpy reference of the coverage pool's risk engine.

The same model as crates/coverage-risk (see its lib.rs docs), written the
way one would in numpy: whole arrays of scenarios at a time. It is the
benchmark reference for the Rust engine (scripts/bench_risk.sh) and a
cross-check of its numbers (the random streams differ, so results agree
within Monte Carlo error, not bit for bit).

    pip install numpy        # the only dependency (Python >= 3.11 for tomllib)
    python3 scripts/risk_numpy.py risk/portfolio.toml --scenarios 1000000 --seed 1

Prints the JSON report (same fields as the Rust `Report`); the simulation's
wall time goes to stderr as `simulate_seconds=...`.

Model per scenario: correlated normals z = F g (F F^T the correlation
matrix, singular matrices allowed); the t copula divides z by
sqrt(chi2_dof / dof). A market triggers iff its copula uniform u = CDF(z) is
below its horizon probability p_h = 1 - (1 - p)^(horizon/365), where p is fixed
or drawn from the market's Beta posterior per scenario. Linear payouts draw a
severity s ~ Beta(severity) per event: lowest price = strike - s (strike - floor).
The pool's rules in integer base units (1e-6 USD, prices 1e-8), markets in
order: liability = ceil(cover x fraction), reserve junior first from what is
left, payout = floor(floor(cover x fraction) x reserve / liability) when short,
leftover back senior first.
"""

import argparse
import json
import math
import sys
import time
import tomllib

import numpy as np

UNITS = 10**6
PRICE = 10**8
LEVEL = 0.995
POINTS = 200
MAX_AMOUNT = 1e12
TABLE_LO = -16.0
TABLE_PER_UNIT = 32.0
TABLE_LEN = 32 * 32 + 1


class PortfolioError(Exception):
    pass


# ---------------------------------------------------------------- special functions (scalar)

def ln_beta(a, b):
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def beta_cf(a, b, x):
    tiny, eps = 1e-300, 1e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) >= tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = d if abs(d) >= tiny else tiny
        c = 1.0 + aa / c
        c = c if abs(c) >= tiny else tiny
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = d if abs(d) >= tiny else tiny
        c = 1.0 + aa / c
        c = c if abs(c) >= tiny else tiny
        d = 1.0 / d
        de = d * c
        h *= de
        if abs(de - 1.0) < eps:
            break
    return h


def beta_inc_xy(a, b, x, y):
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    front = math.exp(a * math.log(x) + b * math.log(y) - ln_beta(a, b))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * beta_cf(a, b, x) / a
    return 1.0 - front * beta_cf(b, a, y) / b


def normal_cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def t_cdf(t, nu):
    t2 = t * t
    tail = 0.5 * beta_inc_xy(0.5 * nu, 0.5, nu / (nu + t2), t2 / (nu + t2))
    return tail if t < 0 else 1.0 - tail


def invert(cdf, p):
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    lo, hi = -1.0, 1.0
    while cdf(lo) > p and lo > -1e300:
        lo *= 2.0
    while cdf(hi) < p and hi < 1e300:
        hi *= 2.0
    for _ in range(2000):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def beta_quantile(a, b, q):
    lo, hi = 0.0, 1.0
    for _ in range(2000):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if beta_inc_xy(a, b, mid, 1.0 - mid) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------- portfolio

def parse_portfolio(text):
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PortfolioError(f"portfolio file: {e}")
    horizon = float(raw.get("horizon_days", float("nan")))
    if not (math.isfinite(horizon) and horizon > 0):
        raise PortfolioError(f"horizon_days: must be a number of days > 0 (got {horizon})")
    capital = [float(c) for c in raw.get("capital", [])]
    if not 1 <= len(capital) <= 4:
        raise PortfolioError(f"capital: a pool has 1 to 4 tranches, junior first (got {len(capital)})")
    for j, c in enumerate(capital):
        if not (math.isfinite(c) and 0 <= c <= MAX_AMOUNT):
            raise PortfolioError(f"capital[{j}]: must be a USD amount from 0 to 1e12 (got {c})")
    k = len(capital)
    names = raw.get("tranche_names")
    if names is None:
        names = [("tranche 0 (junior)" if j == 0 and k > 1 else
                  f"tranche {j} (senior)" if j + 1 == k and k > 1 else f"tranche {j}") for j in range(k)]
    if len(names) != k:
        raise PortfolioError(f"tranche_names: wrong size: {len(names)} where the pool has {k} tranches")
    markets = []
    for i, m in enumerate(raw.get("market", [])):
        label = f'market "{m.get("name", "")}"' if m.get("name") else f"market #{i + 1}"
        cover = float(m.get("cover", float("nan")))
        if not (math.isfinite(cover) and 0 < cover <= MAX_AMOUNT):
            raise PortfolioError(f"{label}.cover: must be a USD amount from more than 0 to 1e12 (got {cover})")
        mk = {"name": m.get("name", ""), "cover": cover, "p": None, "post": None}
        if ("annual_probability" in m) == ("prior" in m):
            raise PortfolioError(f"{label}.annual_probability: give either annual_probability or prior")
        if "annual_probability" in m:
            p = float(m["annual_probability"])
            if not (math.isfinite(p) and 0.0 <= p <= 1.0):
                raise PortfolioError(f"{label}.annual_probability: must be a probability in [0, 1] (got {p})")
            if "history" in m:
                raise PortfolioError(f"{label}.history: history updates a prior")
            mk["p"] = p
        else:
            a, b = float(m["prior"]["alpha"]), float(m["prior"]["beta"])
            for key, v in (("alpha", a), ("beta", b)):
                if not (math.isfinite(v) and v > 0):
                    raise PortfolioError(f"{label}.prior.{key}: must be a finite number > 0 (got {v})")
            h = m.get("history")
            if h is not None:
                years, events = float(h["years"]), float(h["events"])
                if not (years >= 0 and 0 <= events <= years):
                    raise PortfolioError(f"{label}.history.events: must be from 0 to history.years")
                a, b = a + events, b + years - events
            mk["post"] = (a, b)
        pay = m.get("payout", "binary")
        if pay == "binary":
            mk["linear"] = None
        elif isinstance(pay, dict):
            strike = float(pay.get("strike", 0.95))
            floor = float(pay["floor"])
            sev = pay["severity"]
            sa, sb = float(sev["alpha"]), float(sev["beta"])
            s_u, f_u = round(strike * PRICE), round(floor * PRICE)
            if not (0 <= f_u < s_u):
                raise PortfolioError(f"{label}.payout.floor: must be a price from 0 to below the strike {strike}")
            for key, v in (("alpha", sa), ("beta", sb)):
                if not (math.isfinite(v) and v > 0):
                    raise PortfolioError(f"{label}.payout.severity.{key}: must be a finite number > 0 (got {v})")
            mk["linear"] = (s_u, f_u, sa, sb)
        else:
            raise PortfolioError(f'{label}.payout: expected "binary" or {{ floor, severity }}')
        markets.append(mk)
    n = len(markets)
    if n == 0:
        raise PortfolioError("market: no markets: add at least one [[market]]")
    corr = raw.get("correlation", {})
    copula = corr.get("copula", "gaussian")
    dof = None
    if copula == "t":
        dof = float(corr.get("dof", float("nan")))
        if not (math.isfinite(dof) and dof > 0):
            raise PortfolioError(f"correlation.dof: must be a number of degrees of freedom > 0 (got {dof})")
    elif copula != "gaussian":
        raise PortfolioError(f'correlation.copula: unknown copula "{copula}" (expected "gaussian" or "t")')
    mat = np.array(corr.get("matrix", np.eye(n).tolist()), dtype=float)
    if mat.shape != (n, n):
        raise PortfolioError(f"correlation.matrix: wrong size {mat.shape} for {n} markets")
    if np.any(np.abs(mat - mat.T) > 1e-9) or np.any(np.abs(np.diag(mat) - 1) > 1e-9) or np.any(np.abs(mat) > 1):
        raise PortfolioError("correlation.matrix: must be symmetric with unit diagonal and entries in [-1, 1]")
    lam = np.linalg.eigvalsh(mat).min()
    if lam < -1e-9:
        raise PortfolioError(f"correlation.matrix: not positive semi-definite (smallest eigenvalue {lam:.6f})")
    return {"horizon": horizon, "capital": capital, "names": names, "markets": markets,
            "copula": copula, "dof": dof, "matrix": mat}


def copula_factor(a):
    """F with F F^T = a, from the eigendecomposition (as the Rust engine): Q sqrt(L),
    eigenvalues up to 1e-10 taken as zero (singular matrices allowed), rows scaled to unit length."""
    w, q = np.linalg.eigh(a)
    f = q * np.sqrt(np.where(w > 1e-10, w, 0.0))
    norms = np.sqrt((f * f).sum(axis=1))
    norms[norms == 0] = 1.0
    return f / norms[:, None]


# ---------------------------------------------------------------- the model, vectorised

def mul_div(c, num, den, ceil):
    """floor/ceil(c * num / den) exactly in int64 for scalar c and arrays num <= den."""
    q, r = c // den, c % den
    rn = r * num
    return q * num + (rn + den - 1) // den if ceil else q * num + rn // den


def simulate(pf, scenarios, seed, target, coc, batch=1_000_000):
    rng = np.random.default_rng(seed)
    mk = pf["markets"]
    n, k = len(mk), len(pf["capital"])
    cap = np.array([round(c * UNITS) for c in pf["capital"]], dtype=np.int64)
    covers = [round(m["cover"] * UNITS) for m in mk]
    e = pf["horizon"] / 365.0
    factor = copula_factor(pf["matrix"])
    if pf["copula"] == "t":
        nu = pf["dof"]
        cdf = lambda z: t_cdf(z, nu)  # noqa: E731
    else:
        cdf = normal_cdf
    table = np.array([cdf(TABLE_LO + j / TABLE_PER_UNIT) for j in range(TABLE_LEN)])
    cdf_vec = np.frompyfunc(cdf, 1, 1)

    def horizon(p):
        return p if e == 1.0 else -np.expm1(e * np.log1p(-p))

    thresholds = [None if m["p"] is None else invert(cdf, float(horizon(np.float64(m["p"])))) for m in mk]

    totals, owed_all, pays, tlosses, trig_all, short_all = [], [], [], [], [], []
    done = 0
    while done < scenarios:
        bn = min(batch, scenarios - done)
        done += bn
        z = rng.standard_normal((bn, n)) @ factor.T
        if pf["copula"] == "t":
            z /= np.sqrt(rng.chisquare(pf["dof"], bn) / pf["dof"])[:, None]
        trig = np.empty((bn, n), dtype=bool)
        for i, m in enumerate(mk):
            zi = z[:, i]
            if m["p"] is not None:
                trig[:, i] = zi < thresholds[i]
                continue
            ph = horizon(rng.beta(m["post"][0], m["post"][1], bn))
            # u < p_h from a CDF table, the exact CDF only where the table can't tell
            x = (zi - TABLE_LO) * TABLE_PER_UNIT
            inside = (x >= 0) & (x < TABLE_LEN - 1)
            j = np.clip(np.floor(x), 0, TABLE_LEN - 2).astype(np.int64)
            res = ph > table[j + 1]
            amb = ~inside | ((ph > table[j]) & ~res)
            if amb.any():
                res[amb] = cdf_vec(zi[amb]).astype(float) < ph[amb]
            trig[:, i] = res
        idx = np.nonzero(trig.any(axis=1))[0]
        s = len(idx)
        assets = np.tile(cap, (s, 1))
        pay = np.zeros((s, n), dtype=np.int64)
        taken = np.zeros((n, s, k), dtype=np.int64)
        left = np.zeros((n, s), dtype=np.int64)
        owed = np.zeros(s, dtype=np.int64)
        short = np.zeros(s, dtype=bool)
        for i, m in enumerate(mk):
            ti = trig[idx, i]
            if m["linear"] is None:
                num = np.ones(s, dtype=np.int64)
                den = np.ones(s, dtype=np.int64)
            else:
                s_u, f_u, sa, sb = m["linear"]
                span = s_u - f_u
                sev = rng.beta(sa, sb, s)
                lowest = s_u - np.minimum(np.round(sev * span).astype(np.int64), span)
                full = lowest <= f_u
                num = np.where(full, 1, s_u - lowest)
                den = np.where(full, 1, span)
            liab = np.where(ti, mul_div(covers[i], num, den, True), 0)
            rem = liab.copy()
            for j in range(k):
                t = np.minimum(assets[:, j], rem)
                assets[:, j] -= t
                rem -= t
                taken[i, :, j] = t
            res = liab - rem
            short |= res < liab
            owed += liab
            full_pay = mul_div(covers[i], num, den, False)
            paid = np.where(ti, full_pay, 0)
            cut = ti & (res < liab)
            if cut.any():  # the equal haircut, exactly (Python integers)
                paid[cut] = (full_pay[cut].astype(object) * res[cut].astype(object) // liab[cut].astype(object)).astype(
                    np.int64)
            pay[:, i] = paid
            left[i] = res - paid
        for i in range(n):
            rest = left[i].copy()
            for j in reversed(range(k)):
                b = np.minimum(taken[i, :, j], rest)
                assets[:, j] += b
                rest -= b
        tot = np.zeros(bn, dtype=np.int64)
        tot[idx] = pay.sum(axis=1)
        full_pay = np.zeros((bn, n), dtype=np.int64)
        full_pay[idx] = pay
        tl = np.zeros((bn, k), dtype=np.int64)
        tl[idx] = cap - assets
        ow = np.zeros(bn, dtype=np.int64)
        ow[idx] = owed
        sh = np.zeros(bn, dtype=bool)
        sh[idx] = short
        totals.append(tot)
        owed_all.append(ow)
        pays.append(full_pay)
        tlosses.append(tl)
        trig_all.append(trig)
        short_all.append(sh)

    total = np.concatenate(totals)
    owed = np.concatenate(owed_all)
    pay = np.concatenate(pays)
    tl = np.concatenate(tlosses)
    trig = np.concatenate(trig_all)
    short = np.concatenate(short_all)
    N = scenarios

    def order_stat(v, alpha):
        m = min(max(math.ceil(N * alpha - 1e-9), 1), N)
        return m, int(np.partition(v, m - 1)[m - 1])

    m, var = order_stat(total, LEVEL)
    w = N - m
    above = total > var
    at = total == var
    n_above, n_at = int(above.sum()), int(at.sum())
    from_ties = w - min(n_above, w)
    sum_above = int(total[above].astype(object).sum()) if n_above else 0
    es = var if w == 0 else (sum_above + from_ties * var) / w
    contrib = []
    for i in range(n):
        ma = int(pay[above, i].astype(object).sum()) if n_above else 0
        mt = int(pay[at, i].astype(object).sum()) if n_at else 0
        if w == 0:
            contrib.append(mt / n_at)
        else:
            contrib.append((ma * n_at + from_ties * mt) / (n_at * w))
    _, cap_needed = order_stat(owed, target)

    max_loss = max(min(int(cap.sum()), sum(covers)), 1)
    nz = np.sort(total[total > 0])
    edges = np.array([max_loss * j // POINTS for j in range(POINTS + 1)], dtype=np.int64)
    exceed = len(nz) - np.searchsorted(nz, edges, side="right")

    annualise = 365.0 / pf["horizon"]
    markets = []
    for i, m in enumerate(mk):
        el = pay[:, i].sum(dtype=np.float64) / N / UNITS
        c = contrib[i] / UNITS
        rep = {"name": m["name"], "cover": m["cover"], "p_trigger": float(trig[:, i].mean()),
               "expected_loss": el, "capital_contribution": c,
               "suggested_rate_bps": (el + coc * c) / m["cover"] * annualise * 10_000.0}
        if m["post"] is not None:
            a, b = m["post"]
            rep["posterior"] = {"alpha": a, "beta": b, "mean": a / (a + b),
                                "ci_90": [beta_quantile(a, b, 0.05), beta_quantile(a, b, 0.95)]}
        markets.append(rep)
    return {
        "scenarios": N, "seed": seed, "horizon_days": pf["horizon"], "total_capital": sum(pf["capital"]),
        "p_loss": float((total > 0).mean()),
        "expected_loss": total.sum(dtype=np.float64) / N / UNITS,
        "var_99_5": var / UNITS, "es_99_5": es / UNITS,
        "p_shortfall": float(short.mean()),
        "target": target, "capital_needed": cap_needed / UNITS, "cost_of_capital": coc,
        "tranches": [{"name": pf["names"][j], "capital": pf["capital"][j], "p_loss": float((tl[:, j] > 0).mean()),
                      "expected_loss": tl[:, j].sum(dtype=np.float64) / N / UNITS} for j in range(k)],
        "markets": markets,
        "exceedance": [{"loss": int(edges[j]) / UNITS, "probability": int(exceed[j]) / N} for j in range(POINTS + 1)],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("portfolio")
    ap.add_argument("--scenarios", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", type=float, default=LEVEL)
    ap.add_argument("--cost-of-capital", type=float, default=0.10)
    args = ap.parse_args()
    try:
        with open(args.portfolio, "rb") as f:
            pf = parse_portfolio(f.read().decode())
    except (PortfolioError, KeyError, TypeError, ValueError) as e:
        print(f"risk_numpy: {args.portfolio}: {e}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    report = simulate(pf, args.scenarios, args.seed, args.target, args.cost_of_capital)
    print(f"simulate_seconds={time.perf_counter() - start:.4f} scenarios={args.scenarios}", file=sys.stderr)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
