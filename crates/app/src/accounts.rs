//! Dashboard accounts: sign-up and sign-in with an emailed one-time code, sessions, login
//! activities and notifications.
//!
//! Decisions:
//! - A code is 6 digits, lives 10 minutes and survives 5 wrong tries; a resend replaces it
//!   (fresh expiry, tries start again). Only `sha256("punchcard-otp:" + challenge id + ":" +
//!   code)` is stored; the code exists in clear only on its way to the mailer.
//! - Sign-up with an address that already has an account creates a challenge like any other
//!   (its code is never sent; the caller mails a warning instead), so the answers cannot be
//!   told apart. The unique email index refuses the account if the code were ever guessed.
//! - Sign-up signs the person in, and counts as the account's first login activity, so later
//!   sign-ins can tell a new IP address from a known one.
//! - Sessions end after 30 minutes without activity (activity recorded at most once a minute)
//!   or 12 hours after sign-in, whichever comes first; a frozen merchant has no sessions.
//! - Sign-in failures answer `Unauthorized` whether the email is unknown or the password wrong,
//!   and both paths run one argon2 verification, so time tells nothing either.

use std::sync::OnceLock;

use punchcard_domain::accounts::{Email, MerchantName, MerchantStatus, Password};
use punchcard_domain::limits::PlanLimits;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    ChallengeId, Env, LoginActivityId, MemberId, MerchantId, NotificationId, SessionId,
    ValidationErrors,
};
use punchcard_store::accounts::{self, MemberRow, MerchantRow};
use punchcard_store::login_activities::{self, LoginActivityRow, LoginActivityView};
use punchcard_store::notifications::{self, NotificationRow};
use punchcard_store::otp::{self, OtpChallengeRow, OtpPurpose};
use punchcard_store::sessions::{self, SessionRow};
use punchcard_store::{api_keys, commit, currencies, plans, Conn};
use rand::Rng;
use sha2::{Digest, Sha256};
use time::Duration;

use crate::{merchants::create_merchant_in, secrets, App, AppError};

/// How long an emailed code is valid.
pub const OTP_TTL: Duration = Duration::minutes(10);
/// Wrong tries that burn a code.
pub const OTP_MAX_ATTEMPTS: i64 = 5;
/// A challenge can be resent for this long after it was started; then the person starts again.
pub const CHALLENGE_LIFETIME: Duration = Duration::hours(1);
/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, whatever the activity.
pub const SESSION_ABSOLUTE: Duration = Duration::hours(12);
/// Activity is written at most this often per session.
pub const SESSION_TOUCH_EVERY: Duration = Duration::minutes(1);

/// A six-digit code in clear, on its way to an email. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    fn generate() -> Self {
        let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
        Self(format!("{n:06}"))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(******)")
    }
}

/// The stored form of a code: bound to its challenge, so equal codes hash differently.
pub fn otp_hash(challenge_id: &ChallengeId, code: &str) -> String {
    hex::encode(Sha256::digest(
        format!("punchcard-otp:{}:{}", challenge_id.as_str(), code).as_bytes(),
    ))
}

/// Reads what a person typed as a code: six digits, spaces and dashes ignored.
pub fn parse_code(input: &str) -> Result<String, AppError> {
    let digits: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.is_empty() {
        return Err(AppError::field("code", "is required"));
    }
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::field(
            "code",
            "must be the 6 digits from the email",
        ));
    }
    Ok(digits)
}

/// A challenge started or resent: whom to mail, and what.
#[derive(Debug, Clone)]
pub struct CodeToSend {
    pub challenge_id: ChallengeId,
    pub purpose: OtpPurpose,
    pub email: Email,
    pub code: OtpCode,
    /// Sign-up for an address that already has an account: mail a warning, not the code.
    pub already_registered: bool,
}

/// A freshly signed-in member: the session and the cookie token that opens it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The cookie value; only its hash is stored.
    pub token: String,
    pub session: SessionRow,
    pub email: Email,
    pub merchant_name: String,
    pub activity: LoginActivityRow,
    /// The sign-in came from an address no earlier sign-in of this merchant used.
    pub new_ip: bool,
}

/// A live session with its member and merchant, as a dashboard request sees it.
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub session: SessionRow,
    pub member: MemberRow,
    pub merchant: MerchantRow,
}

/// Where a sign-in or sign-up came from.
#[derive(Debug, Clone)]
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
}

impl Origin {
    pub fn new(ip: impl Into<String>, user_agent: &str) -> Self {
        // User agents are free text from the client: keep them printable and bounded.
        let ua: String = user_agent
            .chars()
            .filter(|c| !c.is_control())
            .take(400)
            .collect();
        Self {
            ip: ip.into(),
            user_agent: ua,
        }
    }
}

/// A well-formed argon2 hash no password matches, verified when the email is unknown so an
/// unknown email costs the same time as a wrong password.
fn dummy_password_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        secrets::hash_password(&secrets::random_token("")).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$W1lq0lqY3kz0mG0l9Xj5QbqZ0t1yqzS7p1yqZ0t1yqw".to_string()
        })
    })
}

/// A fresh challenge row: only the code's hash is kept.
#[allow(clippy::too_many_arguments)]
fn new_challenge(
    id: &ChallengeId,
    code: &OtpCode,
    purpose: OtpPurpose,
    email: Email,
    member: Option<(MerchantId, MemberId)>,
    business_name: Option<String>,
    password_hash: Option<String>,
    now: Timestamp,
) -> OtpChallengeRow {
    let (merchant_id, member_id) = member.unzip();
    OtpChallengeRow {
        code_hash: otp_hash(id, code.expose()),
        id: id.clone(),
        purpose,
        email,
        merchant_id,
        member_id,
        business_name,
        password_hash,
        attempts: 0,
        sends: 1,
        created_at: now,
        sent_at: now,
        expires_at: now.plus(OTP_TTL),
        consumed_at: None,
    }
}

impl App {
    /// Starts a sign-up: checks the fields, hashes the password and opens a challenge.
    pub async fn start_sign_up(
        &self,
        email: &str,
        password: &str,
        business_name: &str,
    ) -> Result<CodeToSend, AppError> {
        let mut errors = ValidationErrors::new();
        let typed_email = email;
        let email = errors.check(Email::parse(email));
        let password = errors.check(Password::parse(password, &[typed_email, business_name]));
        let name = match business_name.trim() {
            "" => None,
            given => errors.check(MerchantName::parse(given).map_err(|e| e.at("business_name"))),
        };
        errors.into_result()?;
        let (email, password) = (email.expect("checked"), password.expect("checked"));
        let name = match name {
            Some(n) => n,
            // Until the KYC profile names the business, the email's domain stands in for it.
            None => {
                MerchantName::parse(email.as_str().rsplit('@').next().unwrap_or("My business"))?
            }
        };
        let password_hash = secrets::hash_password_off_thread(password.expose()).await?;
        let now = Timestamp::now();
        let id = ChallengeId::new();
        let code = OtpCode::generate();
        let mut tx = self.db.begin_write().await?;
        let already_registered = accounts::find_member_by_email(&mut tx, &email)
            .await?
            .is_some();
        let row = new_challenge(
            &id,
            &code,
            OtpPurpose::SignUp,
            email.clone(),
            None,
            Some(name.as_str().to_string()),
            Some(password_hash),
            now,
        );
        otp::insert(&mut tx, &row).await?;
        commit(tx).await?;
        Ok(CodeToSend {
            challenge_id: id,
            purpose: OtpPurpose::SignUp,
            email,
            code,
            already_registered,
        })
    }

    /// Checks email and password and opens a sign-in challenge. Unknown email and wrong
    /// password both answer `Unauthorized`; a frozen merchant answers `AccountFrozen`.
    pub async fn start_sign_in(&self, email: &str, password: &str) -> Result<CodeToSend, AppError> {
        let email = Email::parse(email);
        let member = match &email {
            Ok(e) => {
                let mut conn = self.db.conn().await?;
                accounts::find_member_by_email(&mut conn, e).await?
            }
            Err(_) => None,
        };
        let hash = member
            .as_ref()
            .and_then(|m| m.password_hash.clone())
            .unwrap_or_else(|| dummy_password_hash().to_string());
        let password = password.to_string();
        let matches =
            tokio::task::spawn_blocking(move || secrets::verify_password(&password, &hash))
                .await
                .map_err(AppError::internal)?;
        let member = match member {
            Some(m) if matches && m.status == "active" && m.password_hash.is_some() => m,
            _ => return Err(AppError::Unauthorized),
        };
        let now = Timestamp::now();
        let id = ChallengeId::new();
        let code = OtpCode::generate();
        let mut tx = self.db.begin_write().await?;
        let merchant = accounts::find_merchant(&mut tx, &member.merchant_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if merchant.status == MerchantStatus::Frozen {
            return Err(AppError::AccountFrozen(merchant.id));
        }
        let row = new_challenge(
            &id,
            &code,
            OtpPurpose::SignIn,
            member.email.clone(),
            Some((member.merchant_id.clone(), member.id.clone())),
            None,
            None,
            now,
        );
        otp::insert(&mut tx, &row).await?;
        commit(tx).await?;
        Ok(CodeToSend {
            challenge_id: id,
            purpose: OtpPurpose::SignIn,
            email: member.email,
            code,
            already_registered: false,
        })
    }

    /// The open challenge `id` of the given purpose (for the code entry page).
    pub async fn open_challenge(
        &self,
        id: &ChallengeId,
        purpose: OtpPurpose,
    ) -> Result<OtpChallengeRow, AppError> {
        let mut conn = self.db.conn().await?;
        match otp::find(&mut conn, id).await? {
            Some(c)
                if c.purpose == purpose
                    && c.consumed_at.is_none()
                    && Timestamp::now() < c.created_at.plus(CHALLENGE_LIFETIME) =>
            {
                Ok(c)
            }
            _ => Err(AppError::NotFound("challenge")),
        }
    }

    /// Sends a fresh code for an open challenge (the caller throttles how often).
    pub async fn resend_code(
        &self,
        id: &ChallengeId,
        purpose: OtpPurpose,
    ) -> Result<CodeToSend, AppError> {
        let challenge = self.open_challenge(id, purpose).await?;
        let code = OtpCode::generate();
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        if !otp::replace_code(
            &mut tx,
            id,
            &otp_hash(id, code.expose()),
            now,
            now.plus(OTP_TTL),
        )
        .await?
        {
            return Err(AppError::NotFound("challenge"));
        }
        let already_registered = purpose == OtpPurpose::SignUp
            && accounts::find_member_by_email(&mut tx, &challenge.email)
                .await?
                .is_some();
        commit(tx).await?;
        Ok(CodeToSend {
            challenge_id: id.clone(),
            purpose,
            email: challenge.email,
            code,
            already_registered,
        })
    }

    /// Answers a sign-up challenge: creates the merchant (`pending_kyc`) and its owner, and
    /// signs the owner in.
    pub async fn complete_sign_up(
        &self,
        id: &ChallengeId,
        code: &str,
        origin: &Origin,
    ) -> Result<SignedIn, AppError> {
        let code = parse_code(code)?;
        let mut tx = self.db.begin_write().await?;
        let challenge = match check_code(&mut tx, id, OtpPurpose::SignUp, &code).await? {
            Ok(c) => c,
            Err(wrong) => {
                commit(tx).await?;
                return Err(wrong);
            }
        };
        let name = MerchantName::parse(challenge.business_name.as_deref().unwrap_or(""))?;
        let (merchant_id, member_id) = create_merchant_in(
            &mut tx,
            &name,
            &challenge.email,
            challenge.password_hash.clone(),
            MerchantStatus::PendingKyc,
        )
        .await
        .map_err(|e| match e {
            AppError::Validation(_) => AppError::Conflict(
                "this sign-up can no longer be completed; sign in instead".to_string(),
            ),
            other => other,
        })?;
        let signed_in = open_session(
            &mut tx,
            &merchant_id,
            &member_id,
            challenge.email.clone(),
            name.as_str().to_string(),
            origin,
        )
        .await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, "merchant signed up");
        Ok(signed_in)
    }

    /// Answers a sign-in challenge: records the login activity (and a notification when the
    /// address is new) and opens a session.
    pub async fn complete_sign_in(
        &self,
        id: &ChallengeId,
        code: &str,
        origin: &Origin,
    ) -> Result<SignedIn, AppError> {
        let code = parse_code(code)?;
        let mut tx = self.db.begin_write().await?;
        let challenge = match check_code(&mut tx, id, OtpPurpose::SignIn, &code).await? {
            Ok(c) => c,
            Err(wrong) => {
                commit(tx).await?;
                return Err(wrong);
            }
        };
        let (Some(merchant_id), Some(member_id)) = (challenge.merchant_id, challenge.member_id)
        else {
            return Err(AppError::NotFound("challenge"));
        };
        let merchant = accounts::find_merchant(&mut tx, &merchant_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if merchant.status == MerchantStatus::Frozen {
            return Err(AppError::AccountFrozen(merchant.id));
        }
        let member = accounts::find_member(&mut tx, &merchant_id, &member_id)
            .await?
            .filter(|m| m.status == "active")
            .ok_or(AppError::Unauthorized)?;
        let signed_in = open_session(
            &mut tx,
            &merchant_id,
            &member_id,
            member.email,
            merchant.name,
            origin,
        )
        .await?;
        if signed_in.new_ip {
            notify_in(
                &mut tx,
                &merchant_id,
                "new_login_ip",
                "Sign-in from a new IP address",
                &format!(
                    "{} signed in from {}, an address not seen before. If this was not you, \
                     report it under Login activities: the account will be frozen.",
                    challenge.email, origin.ip
                ),
            )
            .await?;
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, member_id = %member_id, "member signed in");
        Ok(signed_in)
    }

    /// The live session a cookie token opens, or `None` when it is unknown, revoked, idle
    /// too long, past its absolute end, or its merchant is frozen.
    pub async fn session_for_token(&self, token: &str) -> Result<Option<SessionContext>, AppError> {
        let now = Timestamp::now();
        let mut conn = self.db.conn().await?;
        let Some(session) =
            sessions::find_by_token_hash(&mut conn, &secrets::token_hash(token)).await?
        else {
            return Ok(None);
        };
        if !session_is_live(&session, now) {
            return Ok(None);
        }
        let Some(merchant) = accounts::find_merchant(&mut conn, &session.merchant_id).await? else {
            return Ok(None);
        };
        if merchant.status == MerchantStatus::Frozen {
            return Ok(None);
        }
        let Some(member) =
            accounts::find_member(&mut conn, &session.merchant_id, &session.member_id)
                .await?
                .filter(|m| m.status == "active")
        else {
            return Ok(None);
        };
        if session.last_seen_at < now.minus(SESSION_TOUCH_EVERY) {
            drop(conn);
            sessions::touch(
                &mut *self.db.write_conn().await?,
                &session.merchant_id,
                &session.id,
                now,
                now.minus(SESSION_TOUCH_EVERY),
            )
            .await?;
        }
        Ok(Some(SessionContext {
            session,
            member,
            merchant,
        }))
    }

    /// Switches the environment a session works in.
    pub async fn set_session_env(
        &self,
        merchant_id: &MerchantId,
        session_id: &SessionId,
        env: Env,
    ) -> Result<(), AppError> {
        let mut conn = self.db.write_conn().await?;
        if !sessions::set_env(&mut conn, merchant_id, session_id, env).await? {
            return Err(AppError::NotFound("session"));
        }
        Ok(())
    }

    /// Signs out: the session is revoked and its cookie opens nothing any more.
    pub async fn sign_out(
        &self,
        merchant_id: &MerchantId,
        session_id: &SessionId,
    ) -> Result<(), AppError> {
        let mut conn = self.db.write_conn().await?;
        sessions::revoke(&mut conn, merchant_id, session_id, Timestamp::now()).await?;
        Ok(())
    }

    /// Ends every session of a merchant.
    pub async fn end_all_sessions(&self, merchant_id: &MerchantId) -> Result<u64, AppError> {
        let mut conn = self.db.write_conn().await?;
        Ok(sessions::revoke_all_for_merchant(&mut conn, merchant_id, Timestamp::now()).await?)
    }

    /// Newest first.
    pub async fn list_login_activities(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Vec<LoginActivityView>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(login_activities::list(&mut conn, merchant_id, 200).await?)
    }

    /// A member does not recognise a sign-in: the activity is marked and the merchant frozen
    /// (every session ends, API keys are refused) until the operator unfreezes it.
    pub async fn report_login_activity(
        &self,
        merchant_id: &MerchantId,
        id: &LoginActivityId,
    ) -> Result<MerchantRow, AppError> {
        {
            let mut conn = self.db.write_conn().await?;
            if !login_activities::mark_reported(&mut conn, merchant_id, id, Timestamp::now())
                .await?
            {
                return Err(AppError::NotFound("login activity"));
            }
        }
        let row = self.freeze_merchant(merchant_id).await?;
        tracing::warn!(merchant_id = %merchant_id, activity_id = %id, "login activity reported; merchant frozen");
        Ok(row)
    }

    /// Records a notification for the merchant's dashboard.
    pub async fn notify(
        &self,
        merchant_id: &MerchantId,
        kind: &str,
        title: &str,
        body: &str,
    ) -> Result<NotificationId, AppError> {
        let mut conn = self.db.conn().await?;
        notify_in(&mut conn, merchant_id, kind, title, body).await
    }

    /// Newest first.
    pub async fn list_notifications(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Vec<NotificationRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(notifications::list(&mut conn, merchant_id, 200).await?)
    }

    pub async fn unread_notifications(&self, merchant_id: &MerchantId) -> Result<i64, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(notifications::count_unread(&mut conn, merchant_id).await?)
    }

    /// Marks read what the member was shown: notifications created up to `up_to`.
    pub async fn mark_notifications_read(
        &self,
        merchant_id: &MerchantId,
        up_to: Timestamp,
    ) -> Result<u64, AppError> {
        let mut conn = self.db.write_conn().await?;
        Ok(notifications::mark_read(&mut conn, merchant_id, up_to, Timestamp::now()).await?)
    }

    /// The instance-wide secret `name` (created on first use, shared by every server).
    pub async fn instance_secret(&self, name: &str) -> Result<String, AppError> {
        let mut conn = self.db.write_conn().await?;
        Ok(sessions::instance_secret(
            &mut conn,
            name,
            &secrets::random_token(""),
            Timestamp::now(),
        )
        .await?)
    }
}

/// What the overview page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub currencies: i64,
    pub api_keys: i64,
    pub plan: PlanLimits,
    /// Used and total of every quota (burned in prod only).
    pub quotas: Vec<punchcard_store::quotas::QuotaUsage>,
}

impl App {
    /// The numbers on the dashboard's overview for one environment.
    pub async fn overview(&self, merchant_id: &MerchantId, env: Env) -> Result<Overview, AppError> {
        let mut conn = self.db.conn().await?;
        let currencies = currencies::list(&mut conn, merchant_id, None, 500)
            .await?
            .len() as i64;
        let api_keys = api_keys::count_live(&mut conn, merchant_id, env).await?;
        let plan = plans::find(&mut conn, merchant_id)
            .await?
            .unwrap_or_default();
        let quotas = crate::limits::usage_under_plan(&mut conn, merchant_id, &plan).await?;
        Ok(Overview {
            currencies,
            api_keys,
            plan,
            quotas,
        })
    }
}

/// Records a notification inside an open transaction (for use cases that notify as they write).
pub async fn notify_in(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    kind: &str,
    title: &str,
    body: &str,
) -> Result<NotificationId, AppError> {
    let row = NotificationRow {
        merchant_id: merchant_id.clone(),
        id: NotificationId::new(),
        kind: kind.to_string(),
        title: title.to_string(),
        body: body.to_string(),
        created_at: Timestamp::now(),
        read_at: None,
    };
    notifications::insert(conn, &row).await?;
    Ok(row.id)
}

/// Whether a session is neither revoked, idle too long, nor past its absolute end.
pub fn session_is_live(s: &SessionRow, now: Timestamp) -> bool {
    s.revoked_at.is_none() && now < s.expires_at && now < s.last_seen_at.plus(SESSION_IDLE)
}

/// Checks a typed code against an open challenge. The outer error is an outage; the inner
/// one is the person's mistake, already counted, for the caller to commit and show.
async fn check_code(
    conn: &mut Conn,
    id: &ChallengeId,
    purpose: OtpPurpose,
    code: &str,
) -> Result<Result<OtpChallengeRow, AppError>, AppError> {
    let now = Timestamp::now();
    let challenge = match otp::find(conn, id).await? {
        Some(c) if c.purpose == purpose && c.consumed_at.is_none() => c,
        _ => {
            return Ok(Err(AppError::field(
                "code",
                "this code is no longer valid; start again",
            )))
        }
    };
    if challenge.attempts >= OTP_MAX_ATTEMPTS {
        return Ok(Err(AppError::field(
            "code",
            "too many wrong codes; request a new code",
        )));
    }
    if now >= challenge.expires_at {
        return Ok(Err(AppError::field(
            "code",
            "this code has expired; request a new code",
        )));
    }
    if !secrets::hashes_equal(&otp_hash(id, code), &challenge.code_hash) {
        otp::record_wrong_code(conn, id, OTP_MAX_ATTEMPTS).await?;
        let left = OTP_MAX_ATTEMPTS - challenge.attempts - 1;
        let message = if left <= 0 {
            "wrong code; too many wrong codes, request a new code".to_string()
        } else if left == 1 {
            "wrong code; 1 try left".to_string()
        } else {
            format!("wrong code; {left} tries left")
        };
        return Ok(Err(AppError::field("code", &message)));
    }
    if !otp::consume(conn, id, now).await? {
        return Ok(Err(AppError::field(
            "code",
            "this code is no longer valid; start again",
        )));
    }
    Ok(Ok(challenge))
}

/// Records the login activity and opens a session, inside the caller's transaction.
async fn open_session(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    member_id: &MemberId,
    email: Email,
    merchant_name: String,
    origin: &Origin,
) -> Result<SignedIn, AppError> {
    let now = Timestamp::now();
    let known = login_activities::known_ips(conn, merchant_id).await?;
    let new_ip = !known.is_empty() && !known.iter().any(|ip| ip == &origin.ip);
    let activity = LoginActivityRow {
        merchant_id: merchant_id.clone(),
        id: LoginActivityId::new(),
        member_id: member_id.clone(),
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        created_at: now,
        reported_at: None,
    };
    login_activities::insert(conn, &activity).await?;
    let token = secrets::random_token("");
    let session = SessionRow {
        merchant_id: merchant_id.clone(),
        id: SessionId::new(),
        member_id: member_id.clone(),
        token_hash: secrets::token_hash(&token),
        env: Env::Prod,
        csrf_token: secrets::random_token(""),
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now.plus(SESSION_ABSOLUTE),
        revoked_at: None,
    };
    sessions::insert(conn, &session).await?;
    Ok(SignedIn {
        token,
        session,
        email,
        merchant_name,
        activity,
        new_ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hidden() {
        for _ in 0..100 {
            let c = OtpCode::generate();
            assert_eq!(c.expose().len(), 6);
            assert!(c.expose().chars().all(|d| d.is_ascii_digit()));
        }
        assert_eq!(format!("{:?}", OtpCode("123456".into())), "OtpCode(******)");
    }

    #[test]
    fn code_hash_is_bound_to_the_challenge() {
        let a = ChallengeId::new();
        let b = ChallengeId::new();
        assert_eq!(otp_hash(&a, "123456"), otp_hash(&a, "123456"));
        assert_ne!(otp_hash(&a, "123456"), otp_hash(&b, "123456"));
        assert_ne!(otp_hash(&a, "123456"), otp_hash(&a, "123457"));
        assert!(!otp_hash(&a, "123456").contains("123456"));
    }

    #[test]
    fn typed_codes() {
        assert_eq!(parse_code(" 123 456 ").unwrap(), "123456");
        assert_eq!(parse_code("123-456").unwrap(), "123456");
        assert!(parse_code("").is_err());
        assert!(parse_code("12345").is_err());
        assert!(parse_code("12345a").is_err());
        assert!(parse_code("1234567").is_err());
    }

    #[test]
    fn session_liveness() {
        let now = Timestamp::now();
        let s = SessionRow {
            merchant_id: MerchantId::new(),
            id: SessionId::new(),
            member_id: MemberId::new(),
            token_hash: String::new(),
            env: Env::Prod,
            csrf_token: String::new(),
            ip: String::new(),
            user_agent: String::new(),
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus(SESSION_ABSOLUTE),
            revoked_at: None,
        };
        assert!(session_is_live(&s, now));
        assert!(session_is_live(&s, now.plus(Duration::minutes(29))));
        assert!(!session_is_live(&s, now.plus(Duration::minutes(31))));
        let mut busy = s.clone();
        busy.last_seen_at = now.plus(Duration::hours(12));
        assert!(!session_is_live(&busy, now.plus(Duration::hours(12))));
        let mut revoked = s.clone();
        revoked.revoked_at = Some(now);
        assert!(!session_is_live(&revoked, now));
    }

    #[test]
    fn user_agents_are_bounded_and_printable() {
        let o = Origin::new("10.0.0.1", &format!("a\nb{}", "x".repeat(1000)));
        assert_eq!(o.user_agent.chars().count(), 400);
        assert!(o.user_agent.starts_with("ab"));
    }
}
