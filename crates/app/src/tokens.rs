//! Signed tokens that QR codes carry (a lead's ID, a coupon), and member-page links.
//!
//! A token is `pc1.<kind>.<merchant>.<env>.<subject>.<expires>.<key>.<mac>`: it names what it
//! stands for, whose it is and until when, and carries an HMAC-SHA256 (the first 16 bytes,
//! base64url) of everything before it under a server key kept in the database. A token is
//! refused (`invalid_token`) when its MAC does not verify under a key still in use, when it has
//! expired, or when it is another merchant's or environment's.

use std::sync::{Arc, RwLock};
use std::time::{Duration as StdDuration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use punchcard_domain::coupons::CouponStatus;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CouponId, Env, LeadId, MerchantId};
use punchcard_store::coupons::{self, CouponFilter, CouponRow};
use punchcard_store::leads::{self, LeadFilter, LeadRow};
use punchcard_store::signing_keys::{self, SigningKeyRow};
use sha2::Sha256;
use time::Duration;

use crate::input::named;
use crate::ledger::Scope;
use crate::{secrets, App, AppError};

/// How long keys read from the database are trusted before reading them again: a rotation
/// reaches every server within this time.
const KEYS_FRESH_FOR: StdDuration = StdDuration::from_secs(60);

/// Longer than any token we sign (about 110 characters); longer text is not read at all.
const MAX_TOKEN_LEN: usize = 400;

/// How long a rotated-out key keeps verifying, so QR codes already on screens still work.
pub const RETIRED_KEY_GRACE: Duration = Duration::days(1);

/// What a token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A lead's ID QR.
    Lead,
    /// A coupon's QR.
    Coupon,
    /// A code displayed at the counter, claimed once from a member page.
    Claim,
    /// A store's *join* code (the subject is the store's id, or `-` for the merchant).
    Join,
}

impl TokenKind {
    fn letter(self) -> &'static str {
        match self {
            TokenKind::Lead => "l",
            TokenKind::Coupon => "c",
            TokenKind::Claim => "k",
            TokenKind::Join => "j",
        }
    }

    fn of_letter(s: &str) -> Option<Self> {
        match s {
            "l" => Some(TokenKind::Lead),
            "c" => Some(TokenKind::Coupon),
            "k" => Some(TokenKind::Claim),
            "j" => Some(TokenKind::Join),
            _ => None,
        }
    }
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub merchant_id: MerchantId,
    pub env: Env,
    /// The id of what it stands for.
    pub subject: String,
    /// `None`: good until its key retires.
    pub expires_at: Option<i64>,
}

impl Token {
    /// Everything the MAC covers, with the key's id.
    fn signed_part(&self, key_id: &str) -> String {
        format!(
            "pc1.{}.{}.{}.{}.{}.{key_id}",
            self.kind.letter(),
            self.merchant_id,
            match self.env {
                Env::Dev => "d",
                Env::Prod => "p",
            },
            self.subject,
            self.expires_at.unwrap_or(0),
        )
    }
}

fn mac_of(secret: &str, signed: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(signed.as_bytes());
    let full = mac.finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&full[..16])
}

/// The token's parts, or why it is no token of ours.
fn parse(token: &str) -> Option<(Token, &str, &str, &str)> {
    let token = token.trim();
    let (signed, mac) = token.rsplit_once('.')?;
    let parts: Vec<&str> = signed.split('.').collect();
    let [version, kind, merchant, env, subject, expires, key_id] = parts[..] else {
        return None;
    };
    if version != "pc1" {
        return None;
    }
    let env = match env {
        "d" => Env::Dev,
        "p" => Env::Prod,
        _ => return None,
    };
    let expires: i64 = expires.parse().ok()?;
    Some((
        Token {
            kind: TokenKind::of_letter(kind)?,
            merchant_id: merchant.parse().ok()?,
            env,
            subject: subject.to_string(),
            expires_at: (expires != 0).then_some(expires),
        },
        key_id,
        signed,
        mac,
    ))
}

/// The signing keys as last read, with when. Every coupon answer signs with them, so reading
/// them takes a shared lock only; a stale ring is read again from the database without any
/// lock held (two requests may both read it then: the same keys).
#[derive(Debug, Default)]
pub(crate) struct KeyRing(RwLock<Option<(Instant, Arc<Vec<SigningKeyRow>>)>>);

impl KeyRing {
    fn fresh(&self) -> Option<Arc<Vec<SigningKeyRow>>> {
        let ring = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.as_ref()
            .filter(|(at, keys)| at.elapsed() < KEYS_FRESH_FOR && !keys.is_empty())
            .map(|(_, keys)| keys.clone())
    }

    fn store(&self, keys: Option<Arc<Vec<SigningKeyRow>>>) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = keys.map(|k| (Instant::now(), k));
    }
}

/// What a QR token stands for, found.
#[derive(Debug, Clone)]
pub enum Resolved {
    Lead(LeadRow),
    Coupon(CouponRow),
    /// A displayed code, with what it gives.
    Claim(crate::counter::ClaimView),
    /// A store's join code: the store, if it names one.
    Join(Option<punchcard_domain::StoreId>),
}

impl App {
    /// The keys in use, newest first; the first key is made on first use.
    async fn signing_keys(&self) -> Result<Arc<Vec<SigningKeyRow>>, AppError> {
        if let Some(keys) = self.key_ring.fresh() {
            return Ok(keys);
        }
        let mut conn = self.db.conn().await?;
        let mut keys = signing_keys::valid_at(&mut conn, Timestamp::now()).await?;
        if keys.iter().all(|k| k.retires_at.is_some()) {
            drop(conn);
            // A write like any other: in turn with the others (SQLite has one writer).
            let mut tx = self.db.begin_write().await?;
            signing_keys::insert_first(&mut tx, &new_key()).await?;
            keys = signing_keys::valid_at(&mut tx, Timestamp::now()).await?;
            punchcard_store::commit(tx).await?;
        }
        let keys = Arc::new(keys);
        self.key_ring.store(Some(keys.clone()));
        Ok(keys)
    }

    /// Makes a new signing key the one that signs; the keys before it keep verifying for
    /// [`RETIRED_KEY_GRACE`]. Answers the new key's id.
    pub async fn rotate_signing_key(&self) -> Result<String, AppError> {
        let key = new_key();
        let mut tx = self.db.begin_write().await?;
        signing_keys::rotate(&mut tx, &key, Timestamp::now().plus(RETIRED_KEY_GRACE)).await?;
        punchcard_store::commit(tx).await?;
        self.key_ring.store(None);
        tracing::info!(key_id = %key.id, "signing key rotated");
        Ok(key.id)
    }

    /// Signs a token with the newest key.
    pub async fn sign_token(&self, token: &Token) -> Result<String, AppError> {
        let keys = self.signing_keys().await?;
        let key = keys
            .iter()
            .find(|k| k.retires_at.is_none())
            .or_else(|| keys.first())
            .ok_or_else(|| AppError::Internal("no signing key".into()))?;
        let signed = token.signed_part(&key.id);
        Ok(format!("{signed}.{}", mac_of(&key.secret, &signed)))
    }

    /// What a token says, once its MAC, its expiry and its merchant and env are checked
    /// against `scope`.
    pub async fn verify_token(&self, scope: &Scope, token: &str) -> Result<Token, AppError> {
        let parsed = self.verify_signature(token).await?;
        if parsed.merchant_id != scope.merchant_id || parsed.env != scope.env {
            return Err(AppError::InvalidToken(
                "this code is another merchant's or environment's".into(),
            ));
        }
        Ok(parsed)
    }

    /// What a token says, once its MAC and expiry are checked (whoever's it is).
    pub(crate) async fn verify_signature(&self, token: &str) -> Result<Token, AppError> {
        let invalid = |why: &str| AppError::InvalidToken(format!("this code is {why}"));
        if token.trim().is_empty() {
            return Err(AppError::field("token", "is required"));
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid("not ours"));
        }
        let (parsed, key_id, signed, mac) = parse(token).ok_or_else(|| invalid("not ours"))?;
        let keys = self.signing_keys().await?;
        let key = keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| invalid("not ours, or its key has retired"))?;
        if !secrets::hashes_equal(&mac_of(&key.secret, signed), mac) {
            return Err(invalid("not ours"));
        }
        if parsed
            .expires_at
            .is_some_and(|e| e <= Timestamp::now().unix())
        {
            return Err(invalid("expired"));
        }
        Ok(parsed)
    }

    /// The token a lead's ID QR carries.
    pub async fn lead_id_token(&self, scope: &Scope, lead_id: &str) -> Result<String, AppError> {
        let lead = self.lead(scope, lead_id).await?;
        self.sign_token(&Token {
            kind: TokenKind::Lead,
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            subject: lead.id.to_string(),
            expires_at: None,
        })
        .await
    }

    /// The token a coupon's QR carries.
    pub async fn coupon_token(&self, coupon: &CouponRow) -> Result<String, AppError> {
        self.sign_token(&Token {
            kind: TokenKind::Coupon,
            merchant_id: coupon.merchant_id.clone(),
            env: coupon.env,
            subject: coupon.id.to_string(),
            expires_at: None,
        })
        .await
    }

    /// What a scanned token stands for, in `scope`.
    pub async fn resolve_token(&self, scope: &Scope, token: &str) -> Result<Resolved, AppError> {
        let t = self.verify_token(scope, token).await?;
        let gone = || AppError::InvalidToken("this code no longer stands for anything".into());
        match t.kind {
            TokenKind::Lead => match self.lead(scope, &t.subject).await {
                Ok(l) => Ok(Resolved::Lead(l)),
                Err(AppError::NotFound(_) | AppError::Validation(_)) => Err(gone()),
                Err(e) => Err(e),
            },
            TokenKind::Coupon => match self.coupon(scope, &t.subject).await {
                Ok(c) => Ok(Resolved::Coupon(c)),
                Err(AppError::NotFound(_) | AppError::Validation(_)) => Err(gone()),
                Err(e) => Err(e),
            },
            TokenKind::Claim => match self.claim_view(scope, &t.subject).await {
                Ok(c) => Ok(Resolved::Claim(c)),
                Err(AppError::NotFound(_) | AppError::Validation(_)) => Err(gone()),
                Err(e) => Err(e),
            },
            TokenKind::Join => Ok(Resolved::Join(t.subject.parse().ok())),
        }
    }

    /// Marks used the coupon with this code issued to the lead with this customer id (the
    /// oldest still issued, for a generic code given more than once).
    pub async fn use_coupon_by_code(
        &self,
        scope: &Scope,
        code: &str,
        customer_id: &str,
    ) -> Result<CouponRow, AppError> {
        self.use_coupon_by_code_at(scope, code, customer_id, None)
            .await
    }

    /// [`App::use_coupon_by_code`], at a counter.
    pub async fn use_coupon_by_code_at(
        &self,
        scope: &Scope,
        code: &str,
        customer_id: &str,
        counter: Option<&crate::counter::Counter>,
    ) -> Result<CouponRow, AppError> {
        let (code, customer_id) = (code.trim(), customer_id.trim());
        let mut errors = punchcard_domain::ValidationErrors::new();
        if code.is_empty() || code.chars().count() > 200 {
            errors.push(punchcard_domain::FieldError::new(
                "code",
                "must be 1 to 200 characters",
            ));
        }
        let customer = errors.check(
            punchcard_domain::ledger::CustomerId::parse(customer_id).map_err(|_| {
                punchcard_domain::FieldError::new("customer_id", "is not a valid customer id")
            }),
        );
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let customer = customer.expect("checked");
        let mut conn = self.db.conn().await?;
        let filter = LeadFilter {
            customer_id: Some(customer.as_str().to_string()),
            ..Default::default()
        };
        let lead = leads::list(&mut conn, &scope.merchant_id, scope.env, &filter, None, 1)
            .await?
            .pop()
            .ok_or_else(|| AppError::field("customer_id", "no lead has this customer id"))?;
        let filter = CouponFilter {
            lead_id: Some(lead.id.to_string()),
            code: Some(code.to_string()),
            status: Some(CouponStatus::Issued),
            ..Default::default()
        };
        let coupon =
            coupons::list_coupons(&mut conn, &scope.merchant_id, scope.env, &filter, None, 1)
                .await?
                .pop();
        drop(conn);
        match coupon {
            Some(c) => self.use_coupon_at(scope, c.id.as_str(), counter).await,
            None => Err(AppError::field(
                "code",
                "this customer holds no unused coupon with this code",
            )),
        }
    }

    /// Gives a lead a new member-page token; the one before stops working. Answers the token
    /// (the only time it is seen: only its hash is kept).
    pub async fn new_member_link(&self, scope: &Scope, lead_id: &str) -> Result<String, AppError> {
        let id: LeadId = named(lead_id, "lead")?;
        let token = secrets::random_token("");
        let mut tx = self.db.begin_write().await?;
        let set = signing_keys::set_member_token(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            &id,
            &secrets::token_hash(&token),
        )
        .await?;
        if !set {
            return Err(AppError::NotFound("lead"));
        }
        punchcard_store::commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, lead_id = %id, "member link made");
        Ok(token)
    }

    /// The lead a member-page token reaches; `NotFound` for any other text.
    pub async fn member_of_token(&self, token: &str) -> Result<LeadRow, AppError> {
        let token = token.trim();
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::NotFound("page"));
        }
        let mut conn = self.db.conn().await?;
        signing_keys::lead_of_member_token(&mut conn, &secrets::token_hash(token))
            .await?
            .ok_or(AppError::NotFound("page"))
    }

    /// The coupon of `id`, if it is the lead's.
    pub async fn coupon_of_lead(
        &self,
        scope: &Scope,
        lead_id: &LeadId,
        id: &CouponId,
    ) -> Result<CouponRow, AppError> {
        let c = self.coupon(scope, id.as_str()).await?;
        if &c.lead_id != lead_id {
            return Err(AppError::NotFound("coupon"));
        }
        Ok(c)
    }
}

fn new_key() -> SigningKeyRow {
    SigningKeyRow {
        id: format!("k{}", &secrets::random_token("")[..10]),
        secret: secrets::random_token(""),
        created_at: Timestamp::now(),
        retires_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_any_change() {
        let t = Token {
            kind: TokenKind::Coupon,
            merchant_id: MerchantId::new(),
            env: Env::Prod,
            subject: "cpn_01jd3x1m2n3p4q5r6s7t8v9w0x".into(),
            expires_at: None,
        };
        let signed = t.signed_part("k1");
        let token = format!("{signed}.{}", mac_of("secret", &signed));
        let (back, key, part, mac) = parse(&token).expect("parses");
        assert_eq!((back, key), (t.clone(), "k1"));
        assert_eq!(mac_of("secret", part), mac);
        assert_ne!(mac_of("other secret", part), mac);
        for broken in [
            &token[..token.len() - 3],
            &token.replace("pc1.", "pc2."),
            &token.replace(".c.", ".x."),
            &token.replace(".p.", ".q."),
            "",
            "pc1",
        ] {
            let ok = parse(broken).is_some_and(|(_, _, p, m)| mac_of("secret", p) == m);
            assert!(!ok, "{broken}");
        }
        let dev = Token {
            env: Env::Dev,
            ..t.clone()
        };
        assert_ne!(dev.signed_part("k1"), signed, "the env is signed");
    }
}
