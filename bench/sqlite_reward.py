#!/usr/bin/env python3
"""Plain-SQL SQLite baseline for `punchcard bench`: one wallet transaction per database
transaction (BEGIN IMMEDIATE; guarded UPDATE ... RETURNING; INSERT of the ledger row; COMMIT)
from concurrent client processes, each with its own connection, on a fresh file in WAL mode
with synchronous=FULL, the settings Punchcard uses. SQLite allows one writer at a time, so the
clients take turns through a shared lock (a queue) rather than SQLite's busy handler, which
sleeps and retries: with 32 clients that polling starves writers for seconds
(`--busy-handler` shows it). Same mix as the bench: 1000 wallets seeded with
100 points, 10% of transactions on 4 hot wallets, 30% debits of up to 200 points.

    python3 bench/sqlite_reward.py [--clients 32] [--seconds 10] [--busy-handler]

Prints a JSON line: transactions, refused debits, tps, latency percentiles (ms) and whether
every balance equals the sum of its ledger rows."""

import argparse
import json
import os
import random
import sqlite3
import tempfile
import multiprocessing as mp
import time
import uuid

WALLETS, SEED, HOT = 1000, 100, 4


def connect(path):
    # The busy timeout (10 s) applies from the start: switching to WAL needs the lock too.
    conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def setup(path):
    conn = connect(path)
    conn.executescript(
        """
        CREATE TABLE wallets (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0),
                              updated_at TEXT NOT NULL);
        CREATE TABLE ledger (id INTEGER PRIMARY KEY, wallet_id INTEGER NOT NULL REFERENCES wallets(id),
                             amount INTEGER NOT NULL, balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
                             hash TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE UNIQUE INDEX ledger_hash ON ledger (hash);
        CREATE INDEX ledger_wallet ON ledger (wallet_id, id);
        """
    )
    conn.execute("BEGIN")
    for w in range(1, WALLETS + 1):
        conn.execute("INSERT INTO wallets VALUES (?, ?, datetime('now'))", (w, SEED))
        conn.execute(
            "INSERT INTO ledger (wallet_id, amount, balance_after, hash, created_at) "
            "VALUES (?, ?, ?, ?, datetime('now'))",
            (w, SEED, SEED, f"seed-{w}"),
        )
    conn.execute("COMMIT")
    conn.close()


def client(path, stop, measuring, writer, out):
    """writer: a lock the clients take turns on, or None to leave it to SQLite's busy handler."""
    conn = connect(path)
    rng = random.Random()
    done = refused = failed = 0
    latencies = []
    while not stop.is_set():
        wallet = rng.randint(1, HOT) if rng.random() < 0.10 else rng.randint(1, WALLETS)
        amount = -rng.randint(1, 200) if rng.random() < 0.30 else rng.randint(1, 100)
        started = time.perf_counter()
        if writer is not None:
            writer.acquire()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # busy for longer than busy_timeout
            failed += measuring.is_set()
            if writer is not None:
                writer.release()
            continue
        row = conn.execute(
            "UPDATE wallets SET balance = balance + ?, updated_at = datetime('now') "
            "WHERE id = ? AND balance + ? >= 0 RETURNING balance",
            (amount, wallet, amount),
        ).fetchone()
        if row is not None:
            conn.execute(
                "INSERT INTO ledger (wallet_id, amount, balance_after, hash, created_at) "
                "VALUES (?, ?, ?, ?, datetime('now'))",
                (wallet, amount, row[0], uuid.uuid4().hex),
            )
            conn.execute("COMMIT")
        else:
            conn.execute("ROLLBACK")
        if writer is not None:
            writer.release()
        if measuring.is_set():
            done += 1
            refused += row is None
            latencies.append(time.perf_counter() - started)
    conn.close()
    out.put((done, refused, failed, latencies))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--busy-handler", action="store_true",
                   help="no lock: writers wait in SQLite's busy handler (busy_timeout 10 s)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "baseline.db")
        setup(path)
        writer = None if args.busy_handler else mp.Lock()
        stop, measuring, out = mp.Event(), mp.Event(), mp.Queue()
        clients = [
            mp.Process(target=client, args=(path, stop, measuring, writer, out))
            for _ in range(args.clients)
        ]
        for c in clients:
            c.start()
        time.sleep(1)  # warm-up, as the bench does
        measuring.set()
        started = time.perf_counter()
        time.sleep(args.seconds)
        measuring.clear()
        elapsed = time.perf_counter() - started
        stop.set()
        results = [out.get(timeout=60) for _ in clients]
        for c in clients:
            c.join()
        conn = connect(path)
        bad = conn.execute(
            "SELECT count(*) FROM wallets w WHERE balance != "
            "(SELECT coalesce(sum(amount), 0) FROM ledger l WHERE l.wallet_id = w.id)"
        ).fetchone()[0]
        conn.close()
    done = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    failed = sum(r[2] for r in results)
    lat = sorted(l for r in results for l in r[3])

    def pct(q):
        return round(lat[round((len(lat) - 1) * q)] * 1000, 3) if lat else 0.0

    print(
        json.dumps(
            {
                "baseline": "sqlite",
                "writers": "busy handler" if args.busy_handler else "queued",
                "clients": args.clients,
                "seconds": round(elapsed, 3),
                "transactions": done,
                "refused_debits": refused,
                "database_locked": failed,
                "tps": round(done / elapsed, 1),
                "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "p99.9": pct(0.999)},
                "balances_add_up": bad == 0,
            }
        )
    )


if __name__ == "__main__":
    main()
