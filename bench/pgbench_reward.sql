-- One wallet transaction per database transaction, the same mix as `punchcard bench`:
-- 10% on 4 hot wallets, 30% debits of up to 200 points (refused by the guard when the
-- balance is short: then no ledger row), 70% rewards of up to 100 points.
-- The mix comes in as variables (`punchcard bench --baseline` sets them from its own flags):
-- pgbench -n -c 32 -j 2 -T 10 -D wallets=1000 -D hot=4 -D hot_pct=10 -D debit_pct=30 \
--     -f bench/pgbench_reward.sql punchcard_pgbench
\set wallet random(1, :wallets)
\if random(1, 100) <= :hot_pct
\set wallet random(1, :hot)
\endif
\set amount random(1, 100)
\if random(1, 100) <= :debit_pct
\set amount -random(1, 200)
\endif
\set balance_after -1
BEGIN;
UPDATE bench_wallets SET balance = balance + :amount, updated_at = now()
    WHERE id = :wallet AND balance + :amount >= 0
    RETURNING balance AS balance_after \aset
\if :balance_after >= 0
INSERT INTO bench_ledger (wallet_id, amount, balance_after, hash)
    VALUES (:wallet, :amount, :balance_after, gen_random_uuid()::text);
\endif
COMMIT;
