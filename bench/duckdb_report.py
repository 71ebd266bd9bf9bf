"""The DuckDB peer of `doralog report`: from the same JSONL events, per service, the deploy
count and p50/p95 of rollback and incident (critical alert) durations, in production.

It is deliberately a simpler computation than doralog's (no linking, episodes or bands):
the issue asks how fast a general-purpose engine does the core of the job.
Usage: python3 bench/duckdb_report.py EVENTS.jsonl
"""
import sys
import time

import duckdb

path = sys.argv[1]
started = time.time()
con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute(f"""
CREATE TABLE ev AS
SELECT id, type, service, coalesce(environment, 'production') AS env, status, severity,
       alert_id, rollback_id, try_cast("time" AS TIMESTAMPTZ) AS t
FROM read_json('{path}', format='newline_delimited', ignore_errors=true,
               columns={{id:'VARCHAR', type:'VARCHAR', "time":'VARCHAR', service:'VARCHAR',
                        environment:'VARCHAR', status:'VARCHAR', severity:'VARCHAR',
                        alert_id:'VARCHAR', rollback_id:'VARCHAR'}})
WHERE id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY id ORDER BY t) = 1
""")
rows = con.execute("""
WITH p AS (SELECT * FROM ev WHERE env = 'production'),
deploys AS (
  SELECT service, count(*) AS n FROM p
  WHERE type = 'deploy' AND coalesce(status, 'succeeded') = 'succeeded' GROUP BY service),
rb AS (
  SELECT service, rollback_id,
         min(t) FILTER (WHERE status = 'started') AS s,
         min(t) FILTER (WHERE status = 'completed') AS c
  FROM p WHERE type = 'rollback' GROUP BY service, rollback_id),
rbd AS (
  SELECT service, quantile_disc(epoch(c - s), 0.5) AS p50, quantile_disc(epoch(c - s), 0.95) AS p95
  FROM rb WHERE s IS NOT NULL AND c >= s GROUP BY service),
al AS (
  SELECT service, alert_id,
         min(t) FILTER (WHERE status = 'firing') AS f,
         min(t) FILTER (WHERE status = 'resolved') AS r
  FROM p WHERE type = 'alert' AND coalesce(severity, 'critical') = 'critical' GROUP BY service, alert_id),
ald AS (
  SELECT service, quantile_disc(epoch(r - f), 0.5) AS p50, quantile_disc(epoch(r - f), 0.95) AS p95
  FROM al WHERE f IS NOT NULL AND r >= f GROUP BY service)
SELECT d.service, d.n, rbd.p50, rbd.p95, ald.p50, ald.p95
FROM deploys d LEFT JOIN rbd USING (service) LEFT JOIN ald USING (service)
ORDER BY d.service
""").fetchall()
elapsed = time.time() - started
print(f"duckdb: {len(rows)} services in {elapsed:.2f} s", file=sys.stderr)
for row in rows[:3]:
    print(row, file=sys.stderr)
