//! One-time-password challenges of sign-up and sign-in; only a hash of each code is kept.

use crate::Conn;
use punchcard_domain::accounts::Email;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{ChallengeId, MemberId, MerchantId};

use crate::StoreError;

/// What a challenge, once answered, lets the person do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpPurpose {
    SignUp,
    SignIn,
}

impl OtpPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            OtpPurpose::SignUp => "signup",
            OtpPurpose::SignIn => "signin",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OtpChallengeRow {
    pub id: ChallengeId,
    pub purpose: OtpPurpose,
    pub email: Email,
    /// Sign-in: whose account the code opens.
    pub merchant_id: Option<MerchantId>,
    pub member_id: Option<MemberId>,
    /// Sign-up: the business name and argon2 password hash chosen before the code was sent.
    pub business_name: Option<String>,
    pub password_hash: Option<String>,
    pub code_hash: String,
    pub attempts: i64,
    pub sends: i64,
    pub created_at: Timestamp,
    pub sent_at: Timestamp,
    pub expires_at: Timestamp,
    pub consumed_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, purpose, email, merchant_id, member_id, business_name, password_hash, \
                       code_hash, attempts, sends, created_at, sent_at, expires_at, consumed_at";

fn from_row(row: &crate::DbRow) -> Result<OtpChallengeRow, StoreError> {
    let purpose: String = row.try_get("purpose")?;
    let merchant_id: Option<String> = row.try_get("merchant_id")?;
    let member_id: Option<String> = row.try_get("member_id")?;
    let consumed: Option<Timestamp> = row.try_get("consumed_at")?;
    Ok(OtpChallengeRow {
        id: crate::db::parsed::<ChallengeId>(row, "id")?,
        purpose: if purpose == "signup" {
            OtpPurpose::SignUp
        } else {
            OtpPurpose::SignIn
        },
        email: Email::from_trusted(row.try_get("email")?),
        merchant_id: merchant_id.map(MerchantId::from_trusted),
        member_id: member_id.map(MemberId::from_trusted),
        business_name: row.try_get("business_name")?,
        password_hash: row.try_get("password_hash")?,
        code_hash: row.try_get("code_hash")?,
        attempts: row.try_get("attempts")?,
        sends: row.try_get("sends")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        sent_at: row.try_get::<Timestamp>("sent_at")?,
        expires_at: row.try_get::<Timestamp>("expires_at")?,
        consumed_at: consumed,
    })
}

pub async fn insert(conn: &mut Conn, c: &OtpChallengeRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO otp_challenges (id, purpose, email, merchant_id, member_id, business_name, \
         password_hash, code_hash, attempts, sends, created_at, sent_at, expires_at, consumed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(c.id.as_str())
    .bind(c.purpose.as_str())
    .bind(c.email.as_str())
    .bind(c.merchant_id.as_ref().map(|m| m.as_str().to_string()))
    .bind(c.member_id.as_ref().map(|m| m.as_str().to_string()))
    .bind(c.business_name.as_deref())
    .bind(c.password_hash.as_deref())
    .bind(c.code_hash.as_str())
    .bind(c.attempts)
    .bind(c.sends)
    .bind(c.created_at)
    .bind(c.sent_at)
    .bind(c.expires_at)
    .bind(c.consumed_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &mut Conn,
    id: &ChallengeId,
) -> Result<Option<OtpChallengeRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM otp_challenges WHERE id = $1");
    let row = crate::query(&sql)
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Counts one wrong code, only while the challenge is open and has tries left; answers
/// whether the try was counted.
pub async fn record_wrong_code(
    conn: &mut Conn,
    id: &ChallengeId,
    max_attempts: i64,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE otp_challenges SET attempts = attempts + 1 \
         WHERE id = $1 AND consumed_at IS NULL AND attempts < $2",
    )
    .bind(id.as_str())
    .bind(max_attempts)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the code of an open challenge (a resend): fresh expiry, tries start again.
pub async fn replace_code(
    conn: &mut Conn,
    id: &ChallengeId,
    code_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE otp_challenges SET code_hash = $2, attempts = 0, sends = sends + 1, sent_at = $3, \
         expires_at = $4 WHERE id = $1 AND consumed_at IS NULL",
    )
    .bind(id.as_str())
    .bind(code_hash)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a challenge used, exactly once; answers whether this call consumed it.
pub async fn consume(
    conn: &mut Conn,
    id: &ChallengeId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE otp_challenges SET consumed_at = $2, password_hash = NULL \
         WHERE id = $1 AND consumed_at IS NULL",
    )
    .bind(id.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
