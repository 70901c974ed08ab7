//! Passwords of dashboard members: a reset by an emailed link, and a change while signed in.
//!
//! A reset link carries a random token of which only a SHA-256 hash is stored; it works once,
//! for [`RESET_TTL`], and a newer link ends the older ones. Asking for a link answers the same
//! whether the address has an account or not, so no one can learn which addresses do. Setting
//! a new password (either way) ends the member's other sessions and unused links.

use punchcard_domain::accounts::{Email, Password};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{FieldError, MemberId, MerchantId, PasswordResetId, SessionId};
use punchcard_store::accounts::{self, MemberRow};
use punchcard_store::password_resets::{self, PasswordResetRow};
use punchcard_store::{commit, sessions};
use time::Duration;

use crate::{secrets, App, AppError};

/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::minutes(30);

/// A reset link to mail: the address and the token for the link (shown nowhere else).
#[derive(Debug, Clone)]
pub struct ResetToSend {
    pub email: Email,
    pub token: String,
    pub expires_at: Timestamp,
}

/// An open reset, found by its link's token.
#[derive(Debug, Clone)]
pub struct OpenReset {
    pub reset: PasswordResetRow,
    pub email: Email,
}

impl App {
    /// Opens a reset for the member with this email, if there is one with a password; answers
    /// `None` otherwise (the caller answers alike either way). A malformed address is the only
    /// error, and it says nothing about accounts.
    pub async fn start_password_reset(&self, email: &str) -> Result<Option<ResetToSend>, AppError> {
        let email = Email::parse(email)?;
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let member = match accounts::find_member_by_email(&mut tx, &email).await? {
            Some(m) if m.password_hash.is_some() && m.status == "active" => m,
            _ => return Ok(None),
        };
        password_resets::end_all_for_member(&mut tx, &member.merchant_id, &member.id, now).await?;
        let token = secrets::random_token("");
        let reset = PasswordResetRow {
            merchant_id: member.merchant_id.clone(),
            id: PasswordResetId::new(),
            member_id: member.id.clone(),
            token_hash: secrets::token_hash(&token),
            created_at: now,
            expires_at: now.plus(RESET_TTL),
            used_at: None,
        };
        password_resets::insert(&mut tx, &reset).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %member.merchant_id, member_id = %member.id, "password reset requested");
        Ok(Some(ResetToSend {
            email: member.email,
            token,
            expires_at: reset.expires_at,
        }))
    }

    /// The unused, unexpired reset a link's token names; `NotFound` for any other token.
    pub async fn password_reset_for_token(&self, token: &str) -> Result<OpenReset, AppError> {
        let mut conn = self.db.conn().await?;
        let found =
            password_resets::find_by_token_hash(&mut conn, &secrets::token_hash(token)).await?;
        let reset = match found {
            Some(r) if r.used_at.is_none() && r.expires_at > Timestamp::now() => r,
            _ => return Err(AppError::NotFound("password_reset")),
        };
        let member = accounts::find_member(&mut conn, &reset.merchant_id, &reset.member_id)
            .await?
            .ok_or(AppError::NotFound("password_reset"))?;
        Ok(OpenReset {
            reset,
            email: member.email,
        })
    }

    /// Sets a new password through a reset link, once: the link is spent, the member's other
    /// links and every session end. Answers the member (to name in the confirmation).
    pub async fn complete_password_reset(
        &self,
        token: &str,
        password: &str,
    ) -> Result<MemberRow, AppError> {
        let open = self.password_reset_for_token(token).await?;
        let password = Password::parse(password, &[open.email.as_str()])?;
        let hash = secrets::hash_password_off_thread(password.expose()).await?;
        let now = Timestamp::now();
        let (merchant_id, member_id) = (&open.reset.merchant_id, &open.reset.member_id);
        let mut tx = self.db.begin_write().await?;
        // The guarded update decides, so two requests with one link set one password.
        if !password_resets::use_once(&mut tx, merchant_id, &open.reset.id, now).await? {
            return Err(AppError::NotFound("password_reset"));
        }
        let member = accounts::find_member(&mut tx, merchant_id, member_id)
            .await?
            .ok_or(AppError::NotFound("password_reset"))?;
        set_password(&mut tx, &member, &hash, None, now).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, member_id = %member_id, "password reset");
        Ok(member)
    }

    /// Changes a signed-in member's password: the current one must match. The member's other
    /// sessions and unused reset links end; `session` (this browser) stays signed in.
    pub async fn change_password(
        &self,
        merchant_id: &MerchantId,
        member_id: &MemberId,
        session: &SessionId,
        current: &str,
        new: &str,
    ) -> Result<(), AppError> {
        let member = {
            let mut conn = self.db.conn().await?;
            accounts::find_member(&mut conn, merchant_id, member_id)
                .await?
                .ok_or(AppError::Unauthorized)?
        };
        let stored = member.password_hash.clone().unwrap_or_default();
        let given = current.to_string();
        let matches =
            tokio::task::spawn_blocking(move || secrets::verify_password(&given, &stored))
                .await
                .map_err(AppError::internal)?;
        let mut errors = punchcard_domain::ValidationErrors::new();
        if current.is_empty() {
            errors.push(FieldError::new("current_password", "is required"));
        } else if !matches {
            errors.push(FieldError::new("current_password", "is not correct"));
        }
        let password = errors.check(Password::parse(new, &[member.email.as_str()]));
        if matches && current == new {
            errors.push(FieldError::new(
                "password",
                "must differ from the current password",
            ));
        }
        errors.into_result()?;
        let password = password.expect("checked");
        let hash = secrets::hash_password_off_thread(password.expose()).await?;
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        set_password(&mut tx, &member, &hash, Some(session), now).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, member_id = %member_id, "password changed");
        Ok(())
    }
}

/// Stores a new password hash; ends the member's sessions but `keep` and unused reset links.
async fn set_password(
    conn: &mut punchcard_store::Conn,
    member: &MemberRow,
    hash: &str,
    keep: Option<&SessionId>,
    now: Timestamp,
) -> Result<(), AppError> {
    if !accounts::set_member_password(conn, &member.merchant_id, &member.id, hash, &member.status)
        .await?
    {
        return Err(AppError::NotFound("member"));
    }
    sessions::revoke_all_for_member(conn, &member.merchant_id, &member.id, keep, now).await?;
    password_resets::end_all_for_member(conn, &member.merchant_id, &member.id, now).await?;
    Ok(())
}
