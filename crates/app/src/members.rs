//! Members: the owner invites admins and staff by email, and may remove them.
//!
//! An invitation carries a random token (only its hash is stored), is valid for 7 days and
//! is accepted once, by choosing a password; the new member then signs in like anyone else
//! (password, then an emailed code). Inviting an address again replaces its pending
//! invitation. A merchant holds at most [`MEMBER_CAP`] members and pending invitations.

use punchcard_domain::accounts::{Email, Password, Role};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{FieldError, InvitationId, MemberId, MerchantId};
use punchcard_store::accounts::{self, MemberRow};
use punchcard_store::invitations::{self, InvitationRow};
use punchcard_store::{commit, StoreError, UniqueKey};
use time::Duration;

use crate::{secrets, App, AppError};

pub const MEMBER_CAP: i64 = 50;
pub const INVITATION_TTL: Duration = Duration::days(7);

/// A new invitation and the token for its link (shown nowhere else).
#[derive(Debug, Clone)]
pub struct CreatedInvitation {
    pub invitation: InvitationRow,
    pub token: String,
}

/// Roles the owner may hand out.
pub fn parse_invited_role(s: &str) -> Result<Role, FieldError> {
    match Role::parse(s.trim()) {
        Some(r @ (Role::Admin | Role::Staff)) => Ok(r),
        _ => Err(FieldError::new("role", "must be admin or staff")),
    }
}

/// An invitee's address that an account already uses (said from the inviting side, where
/// the default "is already registered" would read oddly).
fn email_taken() -> AppError {
    AppError::field("email", "already belongs to a Punchcard account")
}

impl App {
    pub async fn list_members(&self, merchant_id: &MerchantId) -> Result<Vec<MemberRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(accounts::list_members(&mut conn, merchant_id).await?)
    }

    pub async fn pending_invitations(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Vec<InvitationRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(invitations::list_pending(&mut conn, merchant_id, Timestamp::now()).await?)
    }

    /// Invites `email` as `role`; only the owner may.
    pub async fn invite_member(
        &self,
        inviter: &MemberRow,
        email: &str,
        role: &str,
    ) -> Result<CreatedInvitation, AppError> {
        if inviter.role != Role::Owner {
            return Err(AppError::Forbidden(
                "only the owner can invite members".to_string(),
            ));
        }
        let mut errors = punchcard_domain::ValidationErrors::new();
        let email = errors.check(Email::parse(email));
        let role = errors.check(parse_invited_role(role));
        errors.into_result()?;
        let (email, role) = (email.expect("checked"), role.expect("checked"));
        let merchant_id = &inviter.merchant_id;
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        if !accounts::lock_merchant(&mut tx, merchant_id).await? {
            return Err(AppError::NotFound("merchant"));
        }
        if accounts::find_member_by_email(&mut tx, &email)
            .await?
            .is_some()
        {
            return Err(email_taken());
        }
        invitations::revoke_for_email(&mut tx, merchant_id, &email, now).await?;
        if invitations::count_seats(&mut tx, merchant_id, now).await? >= MEMBER_CAP {
            return Err(AppError::LimitReached(format!(
                "at most {MEMBER_CAP} members and pending invitations"
            )));
        }
        let token = secrets::random_token("");
        let invitation = InvitationRow {
            merchant_id: merchant_id.clone(),
            id: InvitationId::new(),
            email,
            role,
            token_hash: secrets::token_hash(&token),
            invited_by: inviter.id.clone(),
            created_at: now,
            expires_at: now.plus(INVITATION_TTL),
            accepted_at: None,
            revoked_at: None,
        };
        invitations::insert(&mut tx, &invitation).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, invitation_id = %invitation.id, "member invited");
        Ok(CreatedInvitation { invitation, token })
    }

    /// A pending, unexpired invitation by its link token.
    pub async fn invitation_for_token(&self, token: &str) -> Result<InvitationRow, AppError> {
        let mut conn = self.db.conn().await?;
        let found = invitations::find_by_token_hash(&mut conn, &secrets::token_hash(token)).await?;
        match found {
            Some(i)
                if i.accepted_at.is_none()
                    && i.revoked_at.is_none()
                    && i.expires_at > Timestamp::now() =>
            {
                Ok(i)
            }
            _ => Err(AppError::NotFound("invitation")),
        }
    }

    /// Accepts an invitation with a password: the member exists from now on.
    pub async fn accept_invitation(
        &self,
        token: &str,
        password: &str,
    ) -> Result<MemberRow, AppError> {
        let invitation = self.invitation_for_token(token).await?;
        let password = Password::parse(password, &[invitation.email.as_str()])?;
        let hash = secrets::hash_password_off_thread(password.expose()).await?;
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        if !invitations::accept(&mut tx, &invitation.merchant_id, &invitation.id, now).await? {
            return Err(AppError::NotFound("invitation"));
        }
        let member = MemberRow {
            merchant_id: invitation.merchant_id.clone(),
            id: MemberId::new(),
            email: invitation.email.clone(),
            password_hash: Some(hash),
            role: invitation.role,
            status: "active".to_string(),
            created_at: now,
        };
        // The invitee's address was free when invited; an account made since then takes it.
        accounts::insert_member(&mut tx, &member)
            .await
            .map_err(|e| match e {
                StoreError::Unique(UniqueKey::MemberEmail) => email_taken(),
                other => other.into(),
            })?;
        commit(tx).await?;
        tracing::info!(merchant_id = %member.merchant_id, member_id = %member.id, "invitation accepted");
        Ok(member)
    }

    pub async fn revoke_invitation(
        &self,
        actor: &MemberRow,
        id: &InvitationId,
    ) -> Result<(), AppError> {
        if actor.role != Role::Owner {
            return Err(AppError::Forbidden(
                "only the owner can revoke invitations".to_string(),
            ));
        }
        let mut conn = self.db.write_conn().await?;
        if !invitations::revoke(&mut conn, &actor.merchant_id, id, Timestamp::now()).await? {
            return Err(AppError::NotFound("invitation"));
        }
        Ok(())
    }

    /// Removes an admin or staff member; their sessions end.
    pub async fn remove_member(&self, actor: &MemberRow, id: &MemberId) -> Result<(), AppError> {
        if actor.role != Role::Owner {
            return Err(AppError::Forbidden(
                "only the owner can remove members".to_string(),
            ));
        }
        if &actor.id == id {
            return Err(AppError::Conflict(
                "the owner cannot be removed".to_string(),
            ));
        }
        let mut tx = self.db.begin_write().await?;
        if !accounts::delete_member(&mut tx, &actor.merchant_id, id, Timestamp::now()).await? {
            return Err(AppError::NotFound("member"));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %actor.merchant_id, member_id = %id, "member removed");
        Ok(())
    }
}
