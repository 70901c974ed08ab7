-- Tables for the plain-SQL baseline of `punchcard bench`: a balance per wallet guarded by a
-- CHECK, and an append-only ledger with a unique hash per entry, indexed like Punchcard's.
-- psql -h 127.0.0.1 -U postgres -d punchcard_pgbench -f bench/pgbench_setup.sql
DROP TABLE IF EXISTS bench_ledger;
DROP TABLE IF EXISTS bench_wallets;

CREATE TABLE bench_wallets (
    id BIGINT PRIMARY KEY,
    balance BIGINT NOT NULL CHECK (balance >= 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE bench_ledger (
    id BIGSERIAL PRIMARY KEY,
    wallet_id BIGINT NOT NULL REFERENCES bench_wallets(id),
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX bench_ledger_hash ON bench_ledger (hash);
CREATE INDEX bench_ledger_wallet ON bench_ledger (wallet_id, id);

-- 1000 wallets seeded with 100 points each, as `punchcard bench` does.
INSERT INTO bench_wallets (id, balance) SELECT g, 100 FROM generate_series(1, 1000) AS g;
INSERT INTO bench_ledger (wallet_id, amount, balance_after, hash)
    SELECT g, 100, 100, 'seed-' || g FROM generate_series(1, 1000) AS g;
VACUUM ANALYZE bench_wallets;
VACUUM ANALYZE bench_ledger;
