#!/bin/sh
# Plain-SQL baselines next to `punchcard bench`: pgbench on a scratch PostgreSQL database
# (created and dropped here) and the SQLite script, with the same clients and duration.
#   PGHOST=127.0.0.1 PGUSER=postgres bench/run_baselines.sh [CLIENTS] [SECONDS]
set -eu
CLIENTS=${1:-32}
SECONDS_=${2:-10}
DIR=$(cd "$(dirname "$0")" && pwd)
DB=punchcard_pgbench_$$
LOGS=$(mktemp -d)
trap 'psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; rm -rf "$LOGS"' EXIT

psql -q -d postgres -c "CREATE DATABASE $DB"
psql -q -d "$DB" -f "$DIR/pgbench_setup.sql"
(cd "$LOGS" && pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_" -l -D wallets=1000 -D hot=4 -D hot_pct=10 -D debit_pct=30 -f "$DIR/pgbench_reward.sql" "$DB") \
    | grep -E '^(number of (clients|transactions|failed)|latency average|tps)'
# Per-transaction latencies (third column of pgbench's log, in microseconds).
cat "$LOGS"/pgbench_log.* | awk '{print $3}' | sort -n | awk '
    { v[NR] = $1 }
    END {
        split("0.5 0.99 0.999", q, " ");
        for (i = 1; i <= 3; i++) { k = int((NR - 1) * q[i] + 0.5) + 1; printf "p%s %.3f ms\n", q[i] * 100, v[k] / 1000 }
    }'
psql -At -d "$DB" -c "SELECT 'balances add up: ' || (count(*) = 0) FROM bench_wallets w
    WHERE balance <> (SELECT coalesce(sum(amount), 0) FROM bench_ledger l WHERE l.wallet_id = w.id)"

python3 "$DIR/sqlite_reward.py" --clients "$CLIENTS" --seconds "$SECONDS_"
