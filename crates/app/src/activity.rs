//! Counts of what the business did since this process started (rewards given, points
//! redeemed, vouchers awarded), kept in memory for the server's metrics. Each is counted once
//! its database transaction committed; replays are not counted again.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters; one per [`App`](crate::App), shared by its clones.
#[derive(Debug, Default)]
pub struct Activity {
    rewards: AtomicU64,
    redemptions: AtomicU64,
    voucher_awards: AtomicU64,
}

impl Activity {
    /// A committed ledger entry that moved `points` (positive: a reward; negative: points
    /// spent on a redemption).
    pub(crate) fn points_moved(&self, points: i64, redemption: bool) {
        if redemption && points < 0 {
            self.redemptions.fetch_add(1, Ordering::Relaxed);
        } else if !redemption && points > 0 {
            self.rewards.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn voucher_awarded(&self) {
        self.voucher_awards.fetch_add(1, Ordering::Relaxed);
    }

    /// Rewards written: wallet transactions of kind `reward`, from the API, the dashboard and
    /// campaigns.
    pub fn rewards(&self) -> u64 {
        self.rewards.load(Ordering::Relaxed)
    }

    /// Redemptions: coupons paid with points and redeem rules' debits.
    pub fn redemptions(&self) -> u64 {
        self.redemptions.load(Ordering::Relaxed)
    }

    /// Vouchers awarded by voucher campaigns.
    pub fn voucher_awards(&self) -> u64 {
        self.voucher_awards.load(Ordering::Relaxed)
    }
}
