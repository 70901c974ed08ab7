//! The ledger writer: this server's wallet transactions applied in groups, each group in one
//! database transaction with one commit.
//!
//! Requests that passed validation (and their callback) queue here. The writer takes
//! everything queued, up to [`BATCH_LIMIT`], and applies it in one write transaction: the
//! wallets are read and locked once, and each item is checked on its own, in order, against
//! the running balances (the balance guard), the hashes stored or used earlier in the group,
//! the reward quota the group took and the request's idempotency fence, so a refused item
//! never fails its neighbours; the accepted rows are then written with a few set-based
//! statements. Answers go out only after the commit, so an acknowledged write survives a
//! crash. If the group as a whole fails (a hash another server stored meanwhile, the commit,
//! a lost connection), its items are applied again one by one, each in its own transaction,
//! so no request fails because of another.
//!
//! Changes that are more than one plain transaction (a swap's two entries, a coupon's
//! redemption with its entry, a campaign award) come as [`LedgerWork`]: each runs inside the
//! same group transaction under a savepoint of its own, after the plain transactions, so it
//! shares the group's commit; a refusal undoes only its own steps.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};

use punchcard_domain::ledger::TransactionKind;
use punchcard_domain::limits::Quota;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, LeadId, MerchantId, WalletId, WalletTransactionId};
use punchcard_store::idempotency::{self, Fence};
use punchcard_store::wallets::{self, LockedWallet, TransactionRow, WalletRow};
use punchcard_store::{commit_fenced, Backend, Db, Tx};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::{
    balance_after, post_entry, replay_or_mismatch, Entry, Posted, ReadyTransaction, Scope,
};
use crate::limits::{burn_quota, TakenQuotas};
use crate::webhooks::{Event, EventObject, EventType, Outbox};
use crate::AppError;

/// The most transactions applied in one database transaction.
pub const BATCH_LIMIT: usize = 256;

/// Groups applied at once on PostgreSQL, each on a connection kept for it.
const POSTGRES_WRITERS: usize = punchcard_store::LEDGER_CONNECTIONS as usize;

/// Requests that may wait for the writer; past this, new ones wait to be queued.
const QUEUE_CAPACITY: usize = 4 * BATCH_LIMIT;

/// A transaction for the writer to apply.
#[derive(Debug, Clone)]
pub struct Pending {
    pub scope: Scope,
    pub ready: ReadyTransaction,
    /// The request's idempotency fence: the writer runs in its own task, where the request's
    /// task-local fence is not set.
    pub fence: Option<Fence>,
}

/// A transaction waiting for the writer, with where its answer goes.
struct Item {
    pending: Pending,
    answer: oneshot::Sender<Result<Posted, AppError>>,
}

/// A change of wallets that is more than one plain transaction, applied by the writer in a
/// group's transaction (or alone, in a write transaction of its own, when the group fails).
/// `apply` writes everything the change needs through `tx` and must not commit; it may run
/// more than once (the second time alone, after its first attempt was undone), so it reads
/// the state it checks from `tx`.
pub trait LedgerWork: Send + Sync + 'static {
    type Output: Send + 'static;
    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<Self::Output, AppError>>;

    /// Works of one kind in a group that share this key (e.g. the deal their coupons come
    /// from) are applied together by [`LedgerWork::apply_batch`]; `None`, the default, applies
    /// this work on its own. Works with an idempotency fence are always applied on their own.
    fn batch_key(&self) -> Option<String> {
        None
    }

    /// Applies `works` (two or more, with one batch key) together in `tx`, in a few
    /// statements, each answered as it would be alone in its turn; `None` leaves a work to be
    /// applied on its own afterwards, in the same group. An error undoes the whole batch,
    /// whose works are then applied on their own.
    fn apply_batch<'t>(
        works: &'t [&'t Self],
        tx: &'t mut Tx,
    ) -> BoxFuture<'t, Batched<Self::Output>>
    where
        Self: Sized,
    {
        let _ = tx;
        Box::pin(async move { Ok(works.iter().map(|_| None).collect()) })
    }
}

/// What a batch of works answered: each one's outcome, or `None` for a work to be applied on
/// its own.
pub type Batched<T> = Result<Vec<Option<Result<T, AppError>>>, AppError>;

/// What a piece of work answered, its type erased on the way through the queue.
type Done = Box<dyn Any + Send>;

/// [`LedgerWork`] with its output's type erased.
trait ErasedWork: Send + Sync {
    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<Done, AppError>>;
    /// The batch key, with the work's type: only works of one type batch together.
    fn batch_key(&self) -> Option<(TypeId, String)>;
    fn as_any(&self) -> &dyn Any;
    /// [`LedgerWork::apply_batch`] of `all`, works of this one's type.
    fn apply_batch<'t>(
        &'t self,
        all: &'t [&'t dyn ErasedWork],
        tx: &'t mut Tx,
    ) -> BoxFuture<'t, Batched<Done>>;
}

impl<W: LedgerWork> ErasedWork for W {
    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<Done, AppError>> {
        Box::pin(async move {
            LedgerWork::apply(self, tx)
                .await
                .map(|output| Box::new(output) as Done)
        })
    }

    fn batch_key(&self) -> Option<(TypeId, String)> {
        LedgerWork::batch_key(self).map(|key| (TypeId::of::<W>(), key))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn apply_batch<'t>(
        &'t self,
        all: &'t [&'t dyn ErasedWork],
        tx: &'t mut Tx,
    ) -> BoxFuture<'t, Batched<Done>> {
        Box::pin(async move {
            let works: Vec<&W> = all
                .iter()
                .filter_map(|w| w.as_any().downcast_ref::<W>())
                .collect();
            if works.len() != all.len() {
                return Err(AppError::internal(std::io::Error::other(
                    "a batch mixed kinds of work",
                )));
            }
            let answers = W::apply_batch(&works, tx).await?;
            Ok(answers
                .into_iter()
                .map(|a| a.map(|r| r.map(|output| Box::new(output) as Done)))
                .collect())
        })
    }
}

/// Work waiting for the writer, with the request's fence and where its answer goes.
struct WorkItem {
    work: Arc<dyn ErasedWork>,
    fence: Option<Fence>,
    answer: oneshot::Sender<Result<Done, AppError>>,
}

/// What waits in a writer's queue.
enum Queued {
    Transaction(Box<Item>),
    Work(WorkItem),
}

/// The queue of this server's ledger writer; cheap to clone. The writer task ends when the
/// last clone is dropped.
#[derive(Clone)]
pub struct LedgerWriter {
    /// One queue per group writer; a wallet's transactions always go to the same one.
    queues: Arc<[mpsc::Sender<Queued>]>,
    counts: Arc<Counts>,
    /// Where the transactions' events go, in the group's database transaction.
    outbox: Arc<Outbox>,
}

/// What this server's writer has done since it started.
#[derive(Debug, Default)]
struct Counts {
    groups: AtomicU64,
    items: AtomicU64,
    fallbacks: AtomicU64,
}

/// A reading of [`LedgerWriter::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterStats {
    /// Groups applied (a group of one included).
    pub groups: u64,
    /// Transactions in them.
    pub items: u64,
    /// Groups that failed as a whole and were applied again one by one.
    pub fallbacks: u64,
}

impl std::fmt::Debug for LedgerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerWriter")
            .field(
                "queued",
                &self
                    .queues
                    .iter()
                    .map(|q| QUEUE_CAPACITY - q.capacity())
                    .sum::<usize>(),
            )
            .finish()
    }
}

impl LedgerWriter {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(db: Db, outbox: Arc<Outbox>) -> Self {
        // SQLite has one writer at a time anyway. PostgreSQL applies several groups at once:
        // while one group waits on its round trips and its commit, the others go on. Each
        // wallet belongs to one of them, so the groups of one server never wait on each
        // other's row locks; those of several servers lock in one global order and never
        // deadlock.
        let writers = match db.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => POSTGRES_WRITERS,
        };
        let counts = Arc::new(Counts::default());
        let mut queues = Vec::with_capacity(writers);
        let mut receivers = Vec::with_capacity(writers);
        for _ in 0..writers {
            let (queue, received) = mpsc::channel(QUEUE_CAPACITY);
            queues.push(queue);
            receivers.push(received);
        }
        // The groups run on a thread and runtime of their own: a group makes a few round trips
        // to the database, and each answer would otherwise wait for a turn behind every request
        // the server's runtime is busy with, holding the whole group up.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("ledger-writer")
            .build();
        match runtime {
            Ok(runtime) => {
                let writers: Vec<_> = receivers
                    .into_iter()
                    .map(|received| {
                        runtime.spawn(run(db.clone(), outbox.clone(), received, counts.clone()))
                    })
                    .collect();
                let spawned = std::thread::Builder::new()
                    .name("ledger-writer".to_string())
                    .spawn(move || {
                        runtime.block_on(async move {
                            for w in writers {
                                let _ = w.await;
                            }
                        })
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "the ledger writer's thread did not start");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no runtime of its own for the ledger writer; it shares the server's");
                for received in receivers {
                    tokio::spawn(run(db.clone(), outbox.clone(), received, counts.clone()));
                }
            }
        }
        Self {
            queues: queues.into(),
            counts,
            outbox,
        }
    }

    /// What the writer has done since it started.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            groups: self.counts.groups.load(Ordering::Relaxed),
            items: self.counts.items.load(Ordering::Relaxed),
            fallbacks: self.counts.fallbacks.load(Ordering::Relaxed),
        }
    }

    /// Queues a transaction and waits for its answer, which comes once it is committed (or
    /// refused). `fence` is the request's idempotency fence, if it has one.
    pub async fn submit(
        &self,
        db: &Db,
        scope: Scope,
        ready: ReadyTransaction,
        fence: Option<Fence>,
    ) -> Result<Posted, AppError> {
        let (answer, answered) = oneshot::channel();
        let item = Item {
            pending: Pending {
                scope,
                ready,
                fence,
            },
            answer,
        };
        let queue =
            &self.queues[writer_of(item.pending.ready.wallet_id.as_str(), self.queues.len())];
        if let Err(mpsc::error::SendError(queued)) =
            queue.send(Queued::Transaction(Box::new(item))).await
        {
            // The writer is gone (the runtime is shutting down): apply it here.
            let Queued::Transaction(item) = queued else {
                unreachable!("the queue gave back what was sent")
            };
            let p = item.pending;
            return apply_alone(db, &self.outbox, &p.scope, p.ready, p.fence.as_ref()).await;
        }
        answered.await.map_err(|_| stopped())?
    }

    /// Queues `work` with the writer that owns `route` (the id of a wallet it changes, or of
    /// what it draws from) and waits for its answer, which comes once it is committed (or
    /// refused). `fence` is the request's idempotency fence, if it has one.
    pub async fn submit_work<W: LedgerWork>(
        &self,
        db: &Db,
        route: &str,
        work: W,
        fence: Option<Fence>,
    ) -> Result<W::Output, AppError> {
        let (answer, answered) = oneshot::channel();
        let item = WorkItem {
            work: Arc::new(work),
            fence,
            answer,
        };
        let queue = &self.queues[writer_of(route, self.queues.len())];
        let done = match queue.send(Queued::Work(item)).await {
            Ok(()) => answered.await.map_err(|_| stopped())??,
            Err(mpsc::error::SendError(queued)) => {
                let Queued::Work(item) = queued else {
                    unreachable!("the queue gave back what was sent")
                };
                apply_work_alone(db, item.work.as_ref(), item.fence.as_ref()).await?
            }
        };
        done.downcast::<W::Output>()
            .map(|output| *output)
            .map_err(|_| AppError::internal(std::io::Error::other("work answered another type")))
    }
}

fn stopped() -> AppError {
    AppError::internal(std::io::Error::other(
        "the ledger writer stopped before answering",
    ))
}

/// Applies `work` in a write transaction of its own and commits it with `fence`.
async fn apply_work_alone(
    db: &Db,
    work: &dyn ErasedWork,
    fence: Option<&Fence>,
) -> Result<Done, AppError> {
    let mut tx = db.begin_write().await?;
    let done = work.apply(&mut tx).await?;
    commit_fenced(tx, fence).await?;
    Ok(done)
}

/// Applies `work` alone, as the writer does when it cannot take it into a group: for a
/// server without a writer (outside a tokio runtime). The request's fence is the task's.
pub(crate) async fn apply_work_here<W: LedgerWork>(
    db: &Db,
    work: W,
) -> Result<W::Output, AppError> {
    let mut tx = db.begin_write().await?;
    let output = LedgerWork::apply(&work, &mut tx).await?;
    punchcard_store::commit(tx).await?;
    Ok(output)
}

/// The group writer that owns a wallet (or another id work is routed by).
fn writer_of(id: &str, writers: usize) -> usize {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(id);
    (hash % writers as u64) as usize
}

async fn run(
    db: Db,
    outbox: Arc<Outbox>,
    mut received: mpsc::Receiver<Queued>,
    counts: Arc<Counts>,
) {
    let mut batch = Vec::with_capacity(BATCH_LIMIT);
    while received.recv_many(&mut batch, BATCH_LIMIT).await > 0 {
        let mut group = Vec::with_capacity(batch.len());
        let mut answers = Vec::with_capacity(batch.len());
        let mut works = Vec::new();
        let mut work_answers = Vec::new();
        for queued in batch.drain(..) {
            match queued {
                Queued::Transaction(item) => {
                    group.push(item.pending);
                    answers.push(item.answer);
                }
                Queued::Work(item) => {
                    works.push((item.work, item.fence));
                    work_answers.push(item.answer);
                }
            }
        }
        let (results, work_results) = apply_counted(&db, &outbox, group, works, &counts).await;
        // A request that went away still had its change applied (or refused).
        for (answer, result) in answers.into_iter().zip(results) {
            let _ = answer.send(result);
        }
        for (answer, result) in work_answers.into_iter().zip(work_results) {
            let _ = answer.send(result);
        }
    }
}

/// What became of one item of a group: its answer, or `None` when it is to be applied alone
/// once the group is committed.
type Outcome = Option<Result<Posted, AppError>>;

/// The items of a group that belong to one merchant and env.
struct Tenant<'a> {
    scope: &'a Scope,
    wallets: Vec<&'a WalletId>,
    hashes: Vec<&'a str>,
}

/// Applies a group of transactions as the writer does, and answers each one's outcome in
/// order, as if each had run alone in that order: together in one database transaction (a
/// group of one alone), or one by one if the group as a whole fails. Answers exist only once
/// what they report is committed.
pub async fn apply_group(app: &crate::App, group: Vec<Pending>) -> Applied {
    let counts = Counts::default();
    let (results, _) = apply_counted(&app.db, &app.outbox, group, Vec::new(), &counts).await;
    Applied {
        results,
        fell_back: counts.fallbacks.load(Ordering::Relaxed) > 0,
    }
}

/// The answers to a group, in order.
#[derive(Debug)]
pub struct Applied {
    pub results: Vec<Result<Posted, AppError>>,
    /// The group failed as a whole and its items were applied one by one.
    pub fell_back: bool,
}

/// A piece of work with the request's fence.
type Work = (Arc<dyn ErasedWork>, Option<Fence>);

/// What became of one piece of work in a group: its answer, or `None` when it is to be
/// applied alone once the group is committed.
type WorkOutcome = Option<Result<Done, AppError>>;

async fn apply_counted(
    db: &Db,
    outbox: &Outbox,
    mut group: Vec<Pending>,
    works: Vec<Work>,
    counts: &Counts,
) -> (Vec<Result<Posted, AppError>>, Vec<Result<Done, AppError>>) {
    counts.groups.fetch_add(1, Ordering::Relaxed);
    counts
        .items
        .fetch_add((group.len() + works.len()) as u64, Ordering::Relaxed);
    if group.len() == 1 && works.is_empty() {
        let p = group.pop().expect("one item");
        let result = apply_alone(db, outbox, &p.scope, p.ready, p.fence.as_ref()).await;
        return (vec![result], Vec::new());
    }
    if group.is_empty() && works.len() == 1 {
        let (work, fence) = &works[0];
        return (
            Vec::new(),
            vec![apply_work_alone(db, work.as_ref(), fence.as_ref()).await],
        );
    }
    let (outcomes, work_outcomes) = match apply_together(db, outbox, &group, &works).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            counts.fallbacks.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, items = group.len() + works.len(),
                "a group of wallet changes failed; applying them one by one");
            (
                group.iter().map(|_| None).collect(),
                works.iter().map(|_| None).collect(),
            )
        }
    };
    let mut results = Vec::with_capacity(group.len());
    for (p, outcome) in group.into_iter().zip(outcomes) {
        results.push(match outcome {
            Some(result) => result,
            None => apply_alone(db, outbox, &p.scope, p.ready, p.fence.as_ref()).await,
        });
    }
    let mut work_results = Vec::with_capacity(works.len());
    for ((work, fence), outcome) in works.iter().zip(work_outcomes) {
        work_results.push(match outcome {
            Some(result) => result,
            None => apply_work_alone(db, work.as_ref(), fence.as_ref()).await,
        });
    }
    (results, work_results)
}

/// Whether a piece of work refused inside a group answers so, or is applied alone once the
/// group is committed: a failure of the database, or a collision with a change committed
/// meanwhile, is answered as the work answers when it runs alone.
fn answered_in_group(e: &AppError) -> bool {
    !matches!(
        e,
        AppError::Unavailable(_)
            | AppError::Internal(_)
            | AppError::IdempotencyMismatch(_)
            | AppError::Conflict(_)
    )
}

/// Runs the works in `tx`: those that batch together (same kind and batch key, no fence) in
/// one go under a savepoint per batch, then each of the others under a savepoint of its own,
/// with its request's fence.
async fn apply_works(tx: &mut Tx, works: &[Work]) -> Result<Vec<WorkOutcome>, AppError> {
    let mut outcomes: Vec<WorkOutcome> = works.iter().map(|_| None).collect();
    let mut alone = vec![true; works.len()];
    let mut batches: Vec<((TypeId, String), Vec<usize>)> = Vec::new();
    for (i, (work, fence)) in works.iter().enumerate() {
        let Some(key) = work.batch_key().filter(|_| fence.is_none()) else {
            continue;
        };
        match batches.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(i),
            None => batches.push((key, vec![i])),
        }
    }
    for (_, members) in batches.iter().filter(|(_, m)| m.len() > 1) {
        let all: Vec<&dyn ErasedWork> = members.iter().map(|&i| works[i].0.as_ref()).collect();
        let sp = tx.savepoint().await?;
        match all[0].apply_batch(&all, tx).await {
            Ok(answers) => {
                tx.release(sp).await?;
                for (&i, answer) in members.iter().zip(answers) {
                    if let Some(result) = answer {
                        alone[i] = false;
                        outcomes[i] = match result {
                            Ok(done) => Some(Ok(done)),
                            Err(e) => answered_in_group(&e).then_some(Err(e)),
                        };
                    }
                }
            }
            Err(e) => {
                tx.rollback_to(sp).await?;
                tracing::debug!(error = %e, works = members.len(),
                    "a batch of works failed; applying them one by one");
            }
        }
    }
    for (i, (work, fence)) in works.iter().enumerate() {
        if !alone[i] {
            continue;
        }
        let sp = tx.savepoint().await?;
        let result = async {
            let done = work.apply(tx).await?;
            if let Some(fence) = fence {
                if !idempotency::mark_applied(tx, fence).await? {
                    return Err(AppError::Superseded);
                }
            }
            Ok(done)
        }
        .await;
        match result {
            Ok(done) => {
                tx.release(sp).await?;
                outcomes[i] = Some(Ok(done));
            }
            Err(e) => {
                tx.rollback_to(sp).await?;
                outcomes[i] = answered_in_group(&e).then_some(Err(e));
            }
        }
    }
    Ok(outcomes)
}

/// (merchant, env, hash): a transaction hash is unique per merchant and env.
type HashKey = (String, Env, String);

fn hash_key(item: &Pending) -> HashKey {
    (
        item.scope.merchant_id.to_string(),
        item.scope.env,
        item.ready.hash.clone(),
    )
}

fn burns_reward_quota(item: &Pending) -> bool {
    item.scope.env == Env::Prod && item.ready.kind == TransactionKind::Reward
}

/// Applies the items in one write transaction and commits it; answers each item's outcome,
/// in order. An error means the group as a whole failed and nothing of it was committed.
///
/// The database does the work in a handful of statements whatever the group's size: the
/// wallets are read and locked once, the stored hashes looked up once, the reward quota taken
/// once per merchant; each item is then checked in order against the running balances, the
/// hashes seen so far and the quota left; the accepted rows are inserted in one statement and
/// the balances set in one more.
async fn apply_together(
    db: &Db,
    outbox: &Outbox,
    items: &[Pending],
    works: &[Work],
) -> Result<(Vec<Outcome>, Vec<WorkOutcome>), AppError> {
    let now = Timestamp::now();
    let started = std::time::Instant::now();
    let mut tx = db.begin_group().await?;

    // Wallets are locked first, in one global order (merchant, env, wallet id), so groups of
    // several servers never wait on each other in a cycle.
    let mut tenants: BTreeMap<(String, &str), Tenant> = BTreeMap::new();
    for item in items {
        let tenant = tenants
            .entry((item.scope.merchant_id.to_string(), item.scope.env.as_str()))
            .or_insert_with(|| Tenant {
                scope: &item.scope,
                wallets: Vec::new(),
                hashes: Vec::new(),
            });
        tenant.wallets.push(&item.ready.wallet_id);
        tenant.hashes.push(&item.ready.hash);
    }
    let mut stored: HashMap<HashKey, TransactionRow> = HashMap::new();
    // Each wallet as locked, its balance kept running through the group.
    let mut locked_wallets: HashMap<(String, Env, WalletId), LockedWallet> = HashMap::new();
    for Tenant {
        scope,
        wallets: wallet_ids,
        hashes,
    } in tenants.values()
    {
        let locked =
            wallets::lock_for_group(&mut tx, &scope.merchant_id, scope.env, wallet_ids, hashes)
                .await?;
        for w in locked.wallets {
            locked_wallets.insert((scope.merchant_id.to_string(), scope.env, w.id.clone()), w);
        }
        // The stored transactions themselves are read only when some hash is taken.
        let taken: Vec<&str> = locked.hashes_taken.iter().map(String::as_str).collect();
        for done in wallets::find_by_hashes(&mut tx, &scope.merchant_id, scope.env, &taken).await? {
            stored.insert(
                (done.merchant_id.to_string(), done.env, done.hash.clone()),
                done,
            );
        }
    }

    let locked_us = started.elapsed().as_micros() as u64;
    // Reward quota, taken once per merchant for every prod reward that may apply; what is
    // not used goes back before the commit.
    let mut wanted: BTreeMap<String, (&Scope, i64)> = BTreeMap::new();
    for item in items.iter().filter(|i| burns_reward_quota(i)) {
        if !stored.contains_key(&hash_key(item)) {
            wanted
                .entry(item.scope.merchant_id.to_string())
                .or_insert((&item.scope, 0))
                .1 += 1;
        }
    }
    // Per merchant, the units taken and how many the group used.
    let mut reserves: HashMap<String, (TakenQuotas, i64)> = HashMap::new();
    for (merchant, (scope, want)) in &wanted {
        let taken = TakenQuotas::take(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            &[Quota::Rewards],
            *want,
        )
        .await?;
        reserves.insert(merchant.clone(), (taken, 0));
    }

    let mut applied: HashMap<HashKey, TransactionRow> = HashMap::new();
    let mut rows: Vec<TransactionRow> = Vec::with_capacity(items.len());
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        let key = hash_key(item);
        // Its hash is stored, or an earlier item of the group applied it: answered as a
        // request run after that one would be.
        if let Some(done) = stored.get(&key).or_else(|| applied.get(&key)) {
            outcomes.push(Some(replay_or_mismatch(
                done.clone(),
                &item.ready.fingerprint,
            )));
            continue;
        }
        let (scope, ready) = (&item.scope, &item.ready);
        let merchant = scope.merchant_id.to_string();
        let wallet_key = (merchant.clone(), scope.env, ready.wallet_id.clone());
        let Some(wallet) = locked_wallets.get_mut(&wallet_key) else {
            outcomes.push(Some(Err(AppError::NotFound("wallet"))));
            continue;
        };
        if !wallet.lead_open {
            outcomes.push(Some(Err(super::lead_closed())));
            continue;
        }
        let after = match balance_after(wallet.balance, ready.amount) {
            Ok(after) => after,
            Err(refused) => {
                outcomes.push(Some(Err(refused)));
                continue;
            }
        };
        if burns_reward_quota(item)
            && reserves
                .get(&merchant)
                .is_none_or(|(taken, used)| *used >= taken.granted)
        {
            outcomes.push(Some(Err(AppError::QuotaExhausted(Quota::Rewards))));
            continue;
        }
        if let Some(fence) = &item.fence {
            if !idempotency::mark_applied(&mut tx, fence).await? {
                outcomes.push(Some(Err(AppError::Superseded)));
                continue;
            }
        }
        wallet.balance = after;
        if burns_reward_quota(item) {
            if let Some((_, used)) = reserves.get_mut(&merchant) {
                *used += 1;
            }
        }
        let row = transaction_row(scope, ready, &wallet.lead_id, after, now);
        applied.insert(key, row.clone());
        rows.push(row.clone());
        outcomes.push(Some(Ok(Posted {
            transaction: row,
            replayed: false,
        })));
    }

    // A hash another server stored since the lookup fails this statement, and the group
    // falls back to applying its items one by one, each answering as it would alone.
    let mut changed: Vec<(&MerchantId, Env, &WalletId, i64)> = Vec::new();
    for row in &rows {
        let key = (row.merchant_id.to_string(), row.env, row.wallet_id.clone());
        if let Some(wallet) = locked_wallets.remove(&key) {
            changed.push((&row.merchant_id, row.env, &row.wallet_id, wallet.balance));
        }
    }
    let checked_us = started.elapsed().as_micros() as u64;
    wallets::write_group(&mut tx, &rows, &changed, now).await?;
    // Each tenant's events, in the same commit (nothing at all for tenants without webhooks).
    for tenant in tenants.values() {
        let events: Vec<Event> = rows
            .iter()
            .filter(|r| r.merchant_id == tenant.scope.merchant_id && r.env == tenant.scope.env)
            .map(|r| {
                Event::new(
                    EventType::WalletTransactionCreated,
                    EventObject::WalletTransaction(r),
                )
            })
            .collect();
        outbox
            .emit(
                &mut tx,
                &tenant.scope.merchant_id,
                tenant.scope.env,
                &events,
            )
            .await?;
    }
    let written_us = started.elapsed().as_micros() as u64;

    // What the group did not use goes back.
    for (taken, used) in reserves.values_mut() {
        taken.keep(&mut tx, *used).await?;
    }
    // The other changes, after the plain transactions, each checked against what the group
    // wrote before it.
    let work_outcomes = apply_works(&mut tx, works).await?;
    commit_fenced(tx, None).await?;
    tracing::debug!(
        items = items.len(),
        locked_us,
        checked_us,
        written_us,
        committed_us = started.elapsed().as_micros() as u64,
        "ledger group applied"
    );
    Ok((outcomes, work_outcomes))
}

/// The row that records `ready` on its wallet, leaving `balance_after`.
fn transaction_row(
    scope: &Scope,
    ready: &ReadyTransaction,
    lead_id: &LeadId,
    balance_after: i64,
    now: Timestamp,
) -> TransactionRow {
    TransactionRow {
        merchant_id: scope.merchant_id.clone(),
        env: scope.env,
        id: WalletTransactionId::new(),
        wallet_id: ready.wallet_id.clone(),
        lead_id: lead_id.clone(),
        kind: ready.kind,
        amount: ready.amount,
        balance_after,
        hash: ready.hash.clone(),
        fingerprint: ready.fingerprint.clone(),
        description: ready.description.clone(),
        reference: None,
        api_key_id: scope.api_key_id.as_ref().map(|k| k.to_string()),
        created_at: now,
    }
}

fn entry<'a>(scope: &Scope, ready: &ReadyTransaction, wallet: &'a WalletRow) -> Entry<'a> {
    Entry {
        wallet,
        kind: ready.kind,
        amount: ready.amount,
        hash: ready.hash.clone(),
        fingerprint: ready.fingerprint.clone(),
        description: ready.description.clone(),
        reference: None,
        api_key_id: scope.api_key_id.as_ref().map(|k| k.to_string()),
    }
}

/// Writes one transaction in its own database transaction: the balance, the transaction row
/// and (for a prod reward) one reward quota unit, with the request's fence.
pub(crate) async fn apply_alone(
    db: &Db,
    outbox: &Outbox,
    scope: &Scope,
    ready: ReadyTransaction,
    fence: Option<&Fence>,
) -> Result<Posted, AppError> {
    let now = Timestamp::now();
    let mut tx = db.begin_write().await?;
    let wallet = match super::find_wallet(&mut tx, scope, &ready).await? {
        super::Found::Done(done) => {
            return Ok(Posted {
                transaction: done,
                replayed: true,
            })
        }
        super::Found::Wallet(wallet) => wallet,
    };
    let result = async {
        let row = post_entry(&mut tx, scope, entry(scope, &ready, &wallet), now).await?;
        outbox
            .emit(
                &mut tx,
                &scope.merchant_id,
                scope.env,
                &[Event::new(
                    EventType::WalletTransactionCreated,
                    EventObject::WalletTransaction(&row),
                )],
            )
            .await?;
        if ready.kind == TransactionKind::Reward {
            burn_quota(&mut tx, &scope.merchant_id, scope.env, &[Quota::Rewards]).await?;
        }
        commit_fenced(tx, fence).await?;
        Ok::<_, AppError>(row)
    }
    .await;
    match result {
        Ok(row) => Ok(Posted {
            transaction: row,
            replayed: false,
        }),
        // The hash's unique key refused the row (the error layer answers that key with
        // `idempotency_mismatch`; nothing else in this transaction does): a concurrent
        // request with the same hash committed first. Answer as it did.
        Err(AppError::IdempotencyMismatch(_)) => {
            let mut conn = db.conn().await?;
            let done = wallets::find_by_hash(&mut conn, &scope.merchant_id, scope.env, &ready.hash)
                .await?
                .ok_or_else(|| AppError::Conflict("retry the request".to_string()))?;
            replay_or_mismatch(done, &ready.fingerprint)
        }
        Err(e) => Err(e),
    }
}
