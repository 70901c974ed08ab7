//! Merchant lifecycle: creation, KYC decisions, freeze and unfreeze.

use punchcard_domain::accounts::{Email, MerchantName, MerchantStatus, Password, Role};
use punchcard_domain::limits::{PlanLimits, Quota};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{MemberId, MerchantId, ValidationErrors};
use punchcard_store::accounts::{self, MemberRow, MerchantRow};
use punchcard_store::{commit, plans, quotas, Conn};

use crate::{secrets, App, AppError};

/// What creating a merchant needs, already parsed.
pub struct NewMerchant {
    pub name: MerchantName,
    pub email: Email,
    pub password: Password,
    pub active: bool,
}

impl NewMerchant {
    pub fn parse(name: &str, email: &str, password: &str, active: bool) -> Result<Self, AppError> {
        let mut errors = ValidationErrors::new();
        let password = Password::parse(password, &[email, name]);
        let name = errors.check(MerchantName::parse(name));
        let email = errors.check(Email::parse(email));
        let password = errors.check(password);
        errors.into_result()?;
        Ok(Self {
            name: name.expect("checked"),
            email: email.expect("checked"),
            password: password.expect("checked"),
            active,
        })
    }
}

impl App {
    /// Creates a merchant with its owner, the default plan and zeroed quota counters.
    pub async fn create_merchant(
        &self,
        new: NewMerchant,
    ) -> Result<(MerchantId, MemberId), AppError> {
        let hash = secrets::hash_password_off_thread(new.password.expose()).await?;
        let status = if new.active {
            MerchantStatus::Active
        } else {
            MerchantStatus::PendingKyc
        };
        let mut tx = self.db.begin_write().await?;
        let ids = create_merchant_in(&mut tx, &new.name, &new.email, Some(hash), status).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %ids.0, "merchant created");
        Ok(ids)
    }

    /// The merchant's time zone (`UTC` until set): which calendar day it is for its
    /// surprises' occasions and its tasks' periods.
    pub async fn time_zone(
        &self,
        id: &MerchantId,
    ) -> Result<punchcard_domain::time::TimeZone, AppError> {
        let mut conn = self.db.conn().await?;
        self.merchant_time_zone(&mut conn, id).await
    }

    pub(crate) async fn merchant_time_zone(
        &self,
        conn: &mut punchcard_store::Conn,
        id: &MerchantId,
    ) -> Result<punchcard_domain::time::TimeZone, AppError> {
        accounts::time_zone(conn, id)
            .await?
            .ok_or(AppError::NotFound("merchant"))
    }

    /// Sets the merchant's time zone from an IANA name (`Europe/Paris`).
    pub async fn set_time_zone(
        &self,
        id: &MerchantId,
        name: &str,
    ) -> Result<punchcard_domain::time::TimeZone, AppError> {
        let tz = punchcard_domain::time::TimeZone::parse(name)?;
        let mut tx = self.db.begin_write().await?;
        if !accounts::set_time_zone(&mut tx, id, &tz, punchcard_domain::time::Timestamp::now())
            .await?
        {
            return Err(AppError::NotFound("merchant"));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %id, time_zone = tz.name(), "time zone set");
        Ok(tz)
    }

    pub async fn merchant(&self, id: &MerchantId) -> Result<MerchantRow, AppError> {
        let mut conn = self.db.conn().await?;
        accounts::find_merchant(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound("merchant"))
    }

    pub async fn list_merchants(&self) -> Result<Vec<MerchantRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(accounts::list_merchants(&mut conn).await?)
    }

    /// Approves KYC (or activates directly): the merchant becomes `active`.
    pub async fn activate_merchant(&self, id: &MerchantId) -> Result<MerchantRow, AppError> {
        self.move_merchant(
            id,
            &[
                MerchantStatus::PendingKyc,
                MerchantStatus::KycSubmitted,
                MerchantStatus::Rejected,
            ],
            MerchantStatus::Active,
            None,
            Some(Notice {
                kind: "kyc_approved",
                title: "KYC approved",
                body: "Your account is active: every dashboard page and the API are open to you."
                    .to_string(),
            }),
        )
        .await
    }

    /// Rejects submitted KYC with a reason the merchant sees.
    pub async fn reject_merchant(
        &self,
        id: &MerchantId,
        reason: &str,
    ) -> Result<MerchantRow, AppError> {
        let reason = punchcard_domain::accounts::parse_label("reason", reason, 500)?;
        self.move_merchant(
            id,
            &[MerchantStatus::KycSubmitted, MerchantStatus::PendingKyc],
            MerchantStatus::Rejected,
            Some(&reason),
            Some(Notice {
                kind: "kyc_rejected",
                title: "KYC rejected",
                body: format!(
                    "Reason: {reason}. Update your profile or documents and submit again."
                ),
            }),
        )
        .await
    }

    /// Freezes a merchant: its API keys and dashboard sessions are refused until unfrozen.
    /// Its sessions are also ended, so unfreezing later does not revive them.
    pub async fn freeze_merchant(&self, id: &MerchantId) -> Result<MerchantRow, AppError> {
        let row = self
            .move_merchant(
                id,
                &[
                    MerchantStatus::PendingKyc,
                    MerchantStatus::KycSubmitted,
                    MerchantStatus::Active,
                    MerchantStatus::Rejected,
                ],
                MerchantStatus::Frozen,
                None,
                None,
            )
            .await?;
        self.end_all_sessions(id).await?;
        Ok(row)
    }

    /// Unfreezes a merchant back to the status it had when frozen.
    pub async fn unfreeze_merchant(&self, id: &MerchantId) -> Result<MerchantRow, AppError> {
        let mut tx = self.db.begin_write().await?;
        let current = accounts::find_merchant(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        if current.status != MerchantStatus::Frozen {
            return Err(AppError::Conflict(format!(
                "merchant is {}, not frozen",
                current.status.as_str()
            )));
        }
        accounts::unfreeze_merchant(&mut tx, id, Timestamp::now()).await?;
        let row = accounts::find_merchant(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        commit(tx).await?;
        tracing::info!(merchant_id = %id, status = row.status.as_str(), "merchant unfrozen");
        Ok(row)
    }

    async fn move_merchant(
        &self,
        id: &MerchantId,
        from: &[MerchantStatus],
        to: MerchantStatus,
        reason: Option<&str>,
        notice: Option<Notice>,
    ) -> Result<MerchantRow, AppError> {
        let mut tx = self.db.begin_write().await?;
        let current = accounts::find_merchant(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        if current.status == to {
            commit(tx).await?;
            return Ok(current);
        }
        if !accounts::set_merchant_status(&mut tx, id, from, to, reason, Timestamp::now()).await? {
            return Err(AppError::Conflict(format!(
                "merchant is {}; it cannot become {}",
                current.status.as_str(),
                to.as_str()
            )));
        }
        if let Some(n) = notice {
            crate::accounts::notify_in(&mut tx, id, n.kind, n.title, &n.body).await?;
        }
        let row = accounts::find_merchant(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        commit(tx).await?;
        tracing::info!(merchant_id = %id, status = to.as_str(), "merchant status changed");
        Ok(row)
    }
}

/// A dashboard notification written with a status change, in the same transaction.
struct Notice {
    kind: &'static str,
    title: &'static str,
    body: String,
}

/// Inserts a merchant, its owner, the default plan and counters inside an open transaction.
pub async fn create_merchant_in(
    conn: &mut Conn,
    name: &MerchantName,
    email: &Email,
    password_hash: Option<String>,
    status: MerchantStatus,
) -> Result<(MerchantId, MemberId), AppError> {
    let now = Timestamp::now();
    let merchant_id = MerchantId::new();
    let member_id = MemberId::new();
    accounts::insert_merchant(conn, &merchant_id, name.as_str(), status, now).await?;
    let member = MemberRow {
        merchant_id: merchant_id.clone(),
        id: member_id.clone(),
        email: email.clone(),
        password_hash,
        role: Role::Owner,
        status: "active".to_string(),
        created_at: now,
    };
    accounts::insert_member(conn, &member).await?;
    plans::upsert(conn, &merchant_id, &PlanLimits::default(), now).await?;
    for quota in Quota::ALL {
        quotas::set_total(conn, &merchant_id, quota, quota.of(&PlanLimits::default())).await?;
    }
    Ok((merchant_id, member_id))
}
