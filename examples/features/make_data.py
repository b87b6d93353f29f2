"""Writes the example's data: driver statistics every 3 hours for the week up
to today (with a late backfill, so created timestamps matter) and a label
file of trips to train on. The numbers are deterministic; the dates follow
the calendar, so the online store's ttl check sees fresh values.

    /usr/bin/python3 examples/features/make_data.py
"""
import csv
import datetime as dt
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
TODAY = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, hour=0, minute=0, second=0,
                                                  microsecond=0)
START = TODAY - dt.timedelta(days=7)
rng = random.Random(7)

os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
with open(os.path.join(HERE, "data", "driver_hourly.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["driver_id", "event_timestamp", "created", "conv_rate", "acc_rate",
                "avg_daily_trip_count"])
    for driver in range(1001, 1051):
        for hour in range(0, 7 * 24, 3):
            ts = START + dt.timedelta(hours=hour)
            w.writerow([driver, ts.isoformat(sep=" "), ts.isoformat(sep=" "),
                        round(rng.random(), 4), round(rng.random(), 4), rng.randint(5, 40)])
        # A correction written two days late for the first morning.
        ts = START + dt.timedelta(hours=6)
        w.writerow([driver, ts.isoformat(sep=" "), (ts + dt.timedelta(days=2)).isoformat(sep=" "),
                    0.5, 0.5, 20])

with open(os.path.join(HERE, "data", "trips.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["driver_id", "event_timestamp", "trip_completed"])
    for _ in range(2000):
        ts = START + dt.timedelta(minutes=rng.randint(0, 7 * 24 * 60))
        w.writerow([rng.randint(1001, 1060), ts.isoformat(sep=" "), int(rng.random() < 0.7)])
print(f"wrote {HERE}/data/driver_hourly.csv and trips.csv")
