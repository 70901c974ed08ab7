//! The demo account behind `punchcard serve --demo`: created once, then reused.

use punchcard_domain::accounts::{Email, MerchantName, MerchantStatus};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId};
use punchcard_store::{accounts, commit};

use crate::api_keys::CreatedApiKey;
use crate::{secrets, App, AppError};

pub const DEMO_EMAIL: &str = "demo@punchcard.localhost";

/// What a newcomer needs to try the demo.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub merchant_id: MerchantId,
    pub email: String,
    /// A fresh password: set anew on every `--demo` start, since only its hash is stored.
    pub password: String,
    /// Keys created the first time only (their secrets cannot be shown again).
    pub new_keys: Vec<(Env, CreatedApiKey)>,
    pub created: bool,
}

impl App {
    /// Creates the demo merchant (active, with a currency and a key per env) unless it exists,
    /// and gives its owner a new random password.
    pub async fn ensure_demo(&self) -> Result<DemoAccount, AppError> {
        let email = Email::parse(DEMO_EMAIL)?;
        let password = demo_password();
        let hash = secrets::hash_password_off_thread(&password).await?;
        let mut tx = self.db.begin_write().await?;
        let existing = accounts::find_member_by_email(&mut tx, &email).await?;
        let (merchant_id, created) = match existing {
            Some(member) => {
                accounts::set_member_password(
                    &mut tx,
                    &member.merchant_id,
                    &member.id,
                    &hash,
                    "active",
                )
                .await?;
                (member.merchant_id, false)
            }
            None => {
                let name = MerchantName::parse("Demo Coffee Roasters")?;
                let (merchant_id, _) = crate::merchants::create_merchant_in(
                    &mut tx,
                    &name,
                    &email,
                    Some(hash),
                    MerchantStatus::Active,
                )
                .await?;
                (merchant_id, true)
            }
        };
        commit(tx).await?;
        let mut new_keys = Vec::new();
        if created {
            self.create_currency(&merchant_id, "BEANS", "Beans", "1")
                .await?;
            self.create_currency(&merchant_id, "STARS", "Stars", "0.5")
                .await?;
            for env in [Env::Dev, Env::Prod] {
                let key = self
                    .create_api_key(&merchant_id, env, &format!("Demo {env} key"), None)
                    .await?;
                new_keys.push((env, key));
            }
            self.notify(
                &merchant_id,
                "demo",
                "Welcome to the demo",
                "This merchant was created by `punchcard serve --demo`. Explore the pages, create API keys and try the API.",
            )
            .await?;
            tracing::info!(merchant_id = %merchant_id, at = %Timestamp::now(), "demo merchant created");
        }
        Ok(DemoAccount {
            merchant_id,
            email: DEMO_EMAIL.to_string(),
            password,
            new_keys,
            created,
        })
    }
}

fn demo_password() -> String {
    // Mixed classes so it passes the strength rules; 16 hex characters of randomness.
    let token = secrets::random_token("");
    format!("Demo-{}-9x", &token[..16])
}
