#!/usr/bin/env bash
# What Postgres alone pays to store a chat message durably, without our statement: pgbench inserts
# message-sized rows into a bare table (`id` primary key; with `indexes`=1 also the two unique
# indexes `messages` needs, (conversation_id, seq) and (sender_id, client key)), `rows` per
# statement, one transaction each, `synchronous_commit` as the server has it, paced at `rate` rows/s
# for `seconds`. Prints the CPU of every postgres process (the backends' too, after they exit:
# the postmaster's cutime) per row. A floor for goals 5 and 6 of issue #19 (docs/benchmarks.md,
# round 6, eleventh pass).
#
#   bash bench/src/tools/insert-floor.sh <rows per statement> [rate=2000] [seconds=10] [indexes=0|1]
#
# Needs pgbench (Debian: postgresql-client) and the machine's Postgres at 127.0.0.1:5432, database
# `test` (override with PGHOST, PGPORT, PGUSER, PGDATABASE). Works in a schema of its own, dropped
# at the end.
set -euo pipefail
rows=${1:?usage: insert-floor.sh <rows per statement> [rate] [seconds] [indexes]}
rate=${2:-2000}
seconds=${3:-10}
indexes=${4:-0}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres} PGDATABASE=${PGDATABASE:-test}
schema="insert_floor_$$"
work=$(mktemp -d)
trap 'psql -q -c "drop schema if exists $schema cascade" >/dev/null 2>&1; rm -rf "$work"' EXIT

psql -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
create schema $schema;
create table $schema.m (id text primary key, conversation_id text not null, seq int not null,
  sender_id text not null, client_key text not null, content text not null,
  created_at timestamptz not null default now());
SQL
if [ "$indexes" = 1 ]; then
  psql -q -v ON_ERROR_STOP=1 -c "create unique index on $schema.m (conversation_id, seq);
    create unique index on $schema.m (sender_id, client_key);" >/dev/null
fi
# About a scenario 7 message: 572 conversations, 2,000 senders, a ~120-character body.
cat > "$work/insert.sql" <<SQL
insert into $schema.m (id, conversation_id, seq, sender_id, client_key, content)
select md5(random()::text || g), 'c' || (random() * 572)::int, (random() * 1e9)::int,
       's' || (random() * 2000)::int, md5(random()::text || g), md5(random()::text) || repeat('x', 90)
from generate_series(1, $rows) g;
SQL

# CPU clock ticks of every postgres process, plus what the postmaster's exited children used.
ticks() {
  local total=0 pid fields
  for pid in $(pgrep -x postgres); do
    fields=$(cut -d' ' -f4,14-17 "/proc/$pid/stat" 2>/dev/null) || continue
    set -- $fields
    total=$((total + $2 + $3))
    if [ "$1" = 1 ]; then total=$((total + $4 + $5)); fi
  done
  echo "$total"
}

before=$(ticks)
pgbench -n -f "$work/insert.sql" -R "$(awk "BEGIN { print $rate / $rows }")" -c 4 -j 1 -T "$seconds" >"$work/pgbench.txt" 2>&1
after=$(ticks)
stored=$(psql -t -A -c "select count(*) from $schema.m")
latency=$(awk '/latency average/ { print $4 }' "$work/pgbench.txt")
hz=$(getconf CLK_TCK)
awk -v k="$rows" -v n="$stored" -v d=$((after - before)) -v s="$seconds" -v hz="$hz" -v lat="$latency" -v ix="$indexes" 'BEGIN {
  printf "rows per statement %d, indexes %s: %d rows (%.0f/s); postgres %.1f %% of a core, %.1f us per row; statement latency %s ms\n",
    k, (ix == 1 ? "pk + 2 unique" : "pk"), n, n / s, d / hz / s * 100, d / hz * 1e6 / n, lat }'
