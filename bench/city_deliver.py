"""One notification deliverer for bench/city.py: delivery passes as of one instant, one after the
other, until a pass finds nothing due. Run as its own process (two at once in the city bench):

    python -m bench.city_deliver DATABASE_URL 2027-03-10T22:01:00+08:00

prints one JSON object: the summed pass summaries and the passes run. `BENCH_SECRET_KEY` must be
the seeding process's key (the webhooks' secrets are encrypted with it)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import datetime

from bench import common

LIMIT = 500  # rows per pass (the scheduler's pass takes 200)
MAX_PASSES = 400
IDLE = ("attempts", "expired", "postponed", "lost_claims", "enqueued")


def deliver(database_url: str, at: datetime) -> dict:
    from parking.extensions import db
    from parking.notifications.delivery import deliver_due

    app = common.bench_app(database_url)
    total: Counter = Counter()
    passes = 0
    with app.app_context():
        while passes < MAX_PASSES:
            summary = deliver_due(at, db.session.commit, limit=LIMIT)
            passes += 1
            total.update(summary)
            if not any(summary.get(key) for key in IDLE):
                break
        db.engine.dispose()
    return {"passes": passes, **total}


if __name__ == "__main__":
    print(json.dumps(deliver(sys.argv[1], datetime.fromisoformat(sys.argv[2]))), flush=True)
