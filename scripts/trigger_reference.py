#!/usr/bin/env python3
"""Independent reference of the trigger rule (PROTOCOL.md 3.4), straight from
the spec text, for cross-checking the program and the backtest on a price CSV
(`publish_time,price,conf`, USD floats).

Prices are converted to Pyth units with exponent -8, rounded to the nearest
unit, exactly as `cover backtest` does. The clock is each row's publish time,
so no row is stale. Prints one JSON object: triggered, streak_start,
trigger_time, accepted, rejected (up to and including the triggering row),
lowest_price (price units).

usage: trigger_reference.py FILE STRIKE RECOVERY DURATION MAX_GAP MAX_CONF_BPS
"""
import csv
import json
import sys
from decimal import Decimal, ROUND_HALF_EVEN


def units(x: str) -> int:
    # nearest 1e-8 unit; ties cannot occur for 8-decimal inputs
    return int((Decimal(x) * 100_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))


def main() -> None:
    path, strike, recovery, duration, max_gap, max_conf_bps = sys.argv[1:7]
    strike, recovery = units(strike), units(recovery)
    duration, max_gap, max_conf_bps = int(duration), int(max_gap), int(max_conf_bps)
    last = None
    start = None  # open streak start
    low = None
    accepted = rejected = 0
    out = {"triggered": False, "streak_start": None, "trigger_time": None}
    with open(path) as f:
        for row in csv.DictReader(f):
            t, p, c = int(row["publish_time"]), units(row["price"]), units(row["conf"])
            # rule 1: checks (fresh by construction: clock = publish time)
            if p <= 0 or c * 10_000 > p * max_conf_bps or (last is not None and t <= last):
                rejected += 1
                continue
            accepted += 1
            # rule 2: gap drops the streak
            if last is not None and start is not None and t - last > max_gap:
                start = None
            last = t
            if start is None:
                if p + c < strike:  # rule 3
                    start, low = t, p + c
            elif p >= recovery:  # rule 4
                start = None
            else:
                low = min(low, p + c)
            if start is not None and t - start >= duration:  # rule 5
                out = {"triggered": True, "streak_start": start, "trigger_time": t}
                break
    out.update(accepted=accepted, rejected=rejected,
               lowest_price=low if out["triggered"] else None)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
