//! Store errors: what went wrong, never the SQL text for a client. A unique-constraint
//! violation is decoded here, once, into the [`UniqueKey`] that refused the write.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    UnsupportedUrl(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// A unique constraint or index refused the write.
    #[error("duplicate value ({0:?})")]
    Unique(UniqueKey),
    /// The idempotent request no longer holds its key (another attempt took it over, or an
    /// earlier attempt's action was applied): its transaction was rolled back.
    #[error("the request's idempotency key is held by another attempt")]
    Superseded,
    #[error("database error: {0}")]
    Database(#[source] DbError),
}

/// What the database driver reported, kept behind the store (callers see only its words).
#[derive(Debug)]
pub struct DbError(pub(crate) sqlx::Error);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A unique constraint or index of the schema: which key a refused write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UniqueKey {
    /// `members (email)`: one account per email address.
    MemberEmail,
    /// `currencies (merchant_id, code)`.
    CurrencyCode,
    /// `sessions (token_hash)`.
    SessionToken,
    /// `invitations (token_hash)`.
    InvitationToken,
    /// `password_resets (token_hash)`.
    PasswordResetToken,
    /// `allowed_ips (merchant_id, source, cidr)`.
    AllowedIpCidr,
    /// `leads (merchant_id, env, customer_id)`.
    LeadCustomerId,
    /// `wallets (merchant_id, lead_id, currency_id)`: one wallet per lead and currency.
    WalletLeadCurrency,
    /// `wallet_transactions (merchant_id, env, hash)`: the retry key of a transaction.
    WalletTransactionHash,
    /// `offers (merchant_id, env, code)` among offers not deleted.
    OfferLiveCode,
    /// `coupon_codes (merchant_id, env, value)`.
    CouponCodeValue,
    /// `coupons (merchant_id, env, hash)`: the retry key of a coupon.
    CouponHash,
    /// `campaign_interactions (merchant_id, env, campaign_id, hash)` (awards only): the retry
    /// key of a campaign trigger.
    CampaignInteractionHash,
    /// `leads (member_token_hash)`: a member page's token reaches one lead.
    MemberPageToken,
    /// `counter_actions (merchant_id, env, hash)`: the retry key of a give at the counter.
    CounterActionHash,
    /// The primary key of the named table. Ids are generated, so a clash there is a race on
    /// a natural key (a merchant's plan, a named secret) rather than a user's input.
    PrimaryKey(&'static str),
    /// A unique violation that no entry of [`UNIQUE_INDEXES`] names (a schema change that
    /// forgot the table). Reported as a generic conflict, and logged with the database's name.
    Unknown,
}

/// One unique constraint or index: its key, its name on PostgreSQL and the columns SQLite
/// names when it refuses a write (`UNIQUE constraint failed: table.col, …`).
#[derive(Debug, Clone, Copy)]
pub struct UniqueIndex {
    pub key: UniqueKey,
    pub name: &'static str,
    pub table: &'static str,
    pub columns: &'static [&'static str],
}

const fn index(
    key: UniqueKey,
    name: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
) -> UniqueIndex {
    UniqueIndex {
        key,
        name,
        table,
        columns,
    }
}

/// The primary key of `table` (PostgreSQL names it `<table>_pkey`).
const fn pk(
    name: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
) -> UniqueIndex {
    UniqueIndex {
        key: UniqueKey::PrimaryKey(table),
        name,
        table,
        columns,
    }
}

/// Every unique index of the migrations. A test reads the schema of a migrated database on
/// both backends and fails when one is missing here.
pub const UNIQUE_INDEXES: &[UniqueIndex] = &[
    index(
        UniqueKey::MemberEmail,
        "members_email",
        "members",
        &["email"],
    ),
    index(
        UniqueKey::CurrencyCode,
        "currencies_code",
        "currencies",
        &["merchant_id", "code"],
    ),
    index(
        UniqueKey::SessionToken,
        "sessions_token_hash",
        "sessions",
        &["token_hash"],
    ),
    index(
        UniqueKey::InvitationToken,
        "invitations_token_hash",
        "invitations",
        &["token_hash"],
    ),
    index(
        UniqueKey::PasswordResetToken,
        "password_resets_token_hash",
        "password_resets",
        &["token_hash"],
    ),
    index(
        UniqueKey::AllowedIpCidr,
        "allowed_ips_unique_cidr",
        "allowed_ips",
        &["merchant_id", "source", "cidr"],
    ),
    index(
        UniqueKey::LeadCustomerId,
        "leads_customer_id",
        "leads",
        &["merchant_id", "env", "customer_id"],
    ),
    index(
        UniqueKey::WalletLeadCurrency,
        "wallets_lead_currency",
        "wallets",
        &["merchant_id", "lead_id", "currency_id"],
    ),
    index(
        UniqueKey::WalletTransactionHash,
        "wallet_transactions_hash",
        "wallet_transactions",
        &["merchant_id", "env", "hash"],
    ),
    index(
        UniqueKey::OfferLiveCode,
        "offers_live_code",
        "offers",
        &["merchant_id", "env", "code"],
    ),
    index(
        UniqueKey::CouponCodeValue,
        "coupon_codes_value",
        "coupon_codes",
        &["merchant_id", "env", "value"],
    ),
    index(
        UniqueKey::CouponHash,
        "coupons_hash",
        "coupons",
        &["merchant_id", "env", "hash"],
    ),
    pk("merchants_pkey", "merchants", &["id"]),
    pk("members_pkey", "members", &["merchant_id", "id"]),
    pk("currencies_pkey", "currencies", &["merchant_id", "id"]),
    pk("plans_pkey", "plans", &["merchant_id"]),
    pk("api_keys_pkey", "api_keys", &["merchant_id", "id"]),
    pk(
        "idempotency_keys_pkey",
        "idempotency_keys",
        &["merchant_id", "env", "idem_key"],
    ),
    pk("sessions_pkey", "sessions", &["merchant_id", "id"]),
    pk("otp_challenges_pkey", "otp_challenges", &["id"]),
    pk(
        "login_activities_pkey",
        "login_activities",
        &["merchant_id", "id"],
    ),
    pk(
        "notifications_pkey",
        "notifications",
        &["merchant_id", "id"],
    ),
    pk("instance_secrets_pkey", "instance_secrets", &["name"]),
    pk("kyc_profiles_pkey", "kyc_profiles", &["merchant_id"]),
    pk("uploads_pkey", "uploads", &["merchant_id", "id"]),
    pk("allowed_ips_pkey", "allowed_ips", &["merchant_id", "id"]),
    pk("invitations_pkey", "invitations", &["merchant_id", "id"]),
    pk(
        "password_resets_pkey",
        "password_resets",
        &["merchant_id", "id"],
    ),
    pk(
        "quota_shards_pkey",
        "quota_shards",
        &["merchant_id", "quota", "shard"],
    ),
    pk("leads_pkey", "leads", &["merchant_id", "id"]),
    pk("wallets_pkey", "wallets", &["merchant_id", "id"]),
    pk(
        "wallet_transactions_pkey",
        "wallet_transactions",
        &["merchant_id", "id"],
    ),
    pk("deals_pkey", "deals", &["merchant_id", "id"]),
    pk("offers_pkey", "offers", &["merchant_id", "id"]),
    pk("stores_pkey", "stores", &["merchant_id", "id"]),
    pk(
        "deal_stores_pkey",
        "deal_stores",
        &["merchant_id", "deal_id", "store_id"],
    ),
    pk(
        "offer_stores_pkey",
        "offer_stores",
        &["merchant_id", "offer_id", "store_id"],
    ),
    pk("coupon_codes_pkey", "coupon_codes", &["merchant_id", "id"]),
    pk("coupons_pkey", "coupons", &["merchant_id", "id"]),
    index(
        UniqueKey::CampaignInteractionHash,
        "campaign_interactions_hash",
        "campaign_interactions",
        &["merchant_id", "env", "campaign_id", "hash"],
    ),
    pk("campaigns_pkey", "campaigns", &["merchant_id", "id"]),
    pk(
        "campaign_keys_pkey",
        "campaign_keys",
        &["merchant_id", "campaign_id", "api_key_id"],
    ),
    pk(
        "campaign_interactions_pkey",
        "campaign_interactions",
        &["merchant_id", "id"],
    ),
    pk(
        "task_progress_pkey",
        "task_progress",
        &["merchant_id", "campaign_id", "lead_id", "window_key"],
    ),
    pk("vaults_pkey", "vaults", &["merchant_id", "id"]),
    pk(
        "campaign_vaults_pkey",
        "campaign_vaults",
        &["merchant_id", "campaign_id", "vault_id"],
    ),
    pk(
        "campaign_integrations_pkey",
        "campaign_integrations",
        &["merchant_id", "id"],
    ),
    pk(
        "campaign_report_hours_pkey",
        "campaign_report_hours",
        &[
            "merchant_id",
            "campaign_id",
            "hour",
            "outcome",
            "error_code",
            "vault_id",
        ],
    ),
    pk("signing_keys_pkey", "signing_keys", &["id"]),
    index(
        UniqueKey::MemberPageToken,
        "leads_member_token",
        "leads",
        &["member_token_hash"],
    ),
    pk(
        "campaign_report_marks_pkey",
        "campaign_report_marks",
        &["merchant_id", "campaign_id"],
    ),
    pk(
        "swap_contracts_pkey",
        "swap_contracts",
        &["merchant_id", "id"],
    ),
    pk("swaps_pkey", "swaps", &["merchant_id", "id"]),
    pk(
        "member_stores_pkey",
        "member_stores",
        &["merchant_id", "member_id", "store_id"],
    ),
    pk("point_grants_pkey", "point_grants", &["merchant_id", "id"]),
    pk(
        "counter_claims_pkey",
        "counter_claims",
        &["merchant_id", "id"],
    ),
    pk(
        "counter_actions_pkey",
        "counter_actions",
        &["merchant_id", "id"],
    ),
    index(
        UniqueKey::CounterActionHash,
        "counter_actions_hash",
        "counter_actions",
        &["merchant_id", "env", "hash"],
    ),
    pk("messages_pkey", "messages", &["merchant_id", "id"]),
    pk(
        "message_deliveries_pkey",
        "message_deliveries",
        &["merchant_id", "message_id", "lead_id"],
    ),
    pk("jobs_pkey", "jobs", &["id"]),
    pk(
        "webhook_endpoints_pkey",
        "webhook_endpoints",
        &["merchant_id", "id"],
    ),
    pk(
        "webhook_deliveries_pkey",
        "webhook_deliveries",
        &["merchant_id", "id"],
    ),
    pk(
        "swap_usage_pkey",
        "swap_usage",
        &["merchant_id", "contract_id", "lead_id", "day"],
    ),
];

impl UniqueKey {
    /// The key of a constraint or index name (PostgreSQL reports it; so does SQLite for an
    /// index on expressions).
    pub fn from_name(name: &str) -> Option<Self> {
        UNIQUE_INDEXES
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.key)
    }

    /// The key of SQLite's message `UNIQUE constraint failed: table.col1, table.col2` (or
    /// `… failed: index 'name'`).
    pub fn from_sqlite_message(message: &str) -> Option<Self> {
        let what = message.strip_prefix("UNIQUE constraint failed: ")?.trim();
        if let Some(name) = what
            .strip_prefix("index '")
            .and_then(|n| n.strip_suffix('\''))
        {
            return Self::from_name(name);
        }
        let mut table = None;
        let mut columns = Vec::new();
        for qualified in what.split(',') {
            let (t, c) = qualified.trim().split_once('.')?;
            if *table.get_or_insert(t) != t {
                return None;
            }
            columns.push(c);
        }
        let table = table?;
        UNIQUE_INDEXES
            .iter()
            .find(|i| i.table == table && i.columns == columns.as_slice())
            .map(|i| i.key)
    }
}

/// Which key a unique violation names; unlisted ones are logged (with the database's words,
/// which never reach a client) and reported as [`UniqueKey::Unknown`].
fn decode_unique(db: &dyn sqlx::error::DatabaseError) -> UniqueKey {
    let key = match db.constraint() {
        Some(name) => UniqueKey::from_name(name),
        None => UniqueKey::from_sqlite_message(db.message()),
    };
    key.unwrap_or_else(|| {
        tracing::warn!(
            constraint = db.constraint().unwrap_or(""),
            message = db.message(),
            "unique violation on a key missing from UNIQUE_INDEXES"
        );
        UniqueKey::Unknown
    })
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Unique(decode_unique(db.as_ref()));
            }
        }
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e.to_string())
            }
            other => StoreError::Database(DbError(other)),
        }
    }
}

impl StoreError {
    /// The unique key that refused the write, if that is what this error is.
    pub fn unique_key(&self) -> Option<UniqueKey> {
        match self {
            StoreError::Unique(key) => Some(*key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_decode_to_their_key() {
        assert_eq!(
            UniqueKey::from_sqlite_message(
                "UNIQUE constraint failed: leads.merchant_id, leads.env, leads.customer_id"
            ),
            Some(UniqueKey::LeadCustomerId)
        );
        assert_eq!(
            UniqueKey::from_sqlite_message("UNIQUE constraint failed: members.email"),
            Some(UniqueKey::MemberEmail)
        );
        assert_eq!(
            UniqueKey::from_sqlite_message("UNIQUE constraint failed: plans.merchant_id"),
            Some(UniqueKey::PrimaryKey("plans"))
        );
        assert_eq!(
            UniqueKey::from_sqlite_message("UNIQUE constraint failed: index 'coupons_hash'"),
            Some(UniqueKey::CouponHash)
        );
        // Same columns on another table, columns in another order, mixed tables: not a key.
        for unknown in [
            "UNIQUE constraint failed: stores.merchant_id, stores.env, stores.code",
            "UNIQUE constraint failed: leads.env, leads.merchant_id, leads.customer_id",
            "UNIQUE constraint failed: leads.merchant_id, wallets.env",
            "UNIQUE constraint failed: index 'nope'",
            "NOT NULL constraint failed: leads.name",
        ] {
            assert_eq!(UniqueKey::from_sqlite_message(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn every_entry_decodes_from_both_backends_words() {
        for i in UNIQUE_INDEXES {
            assert_eq!(UniqueKey::from_name(i.name), Some(i.key), "{}", i.name);
            let cols: Vec<String> = i
                .columns
                .iter()
                .map(|c| format!("{}.{c}", i.table))
                .collect();
            let message = format!("UNIQUE constraint failed: {}", cols.join(", "));
            assert_eq!(
                UniqueKey::from_sqlite_message(&message),
                Some(i.key),
                "{message}: two entries share a table and columns"
            );
        }
    }
}
