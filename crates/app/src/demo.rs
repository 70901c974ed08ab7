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
            self.seed_demo_data(&merchant_id).await?;
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

impl App {
    /// A few DEV customers with points, a deal with codes and a coupon, so every page has
    /// something to show. Written through the same use cases as the API.
    async fn seed_demo_data(&self, merchant_id: &MerchantId) -> Result<(), AppError> {
        use crate::coupons::NewCoupon;
        use crate::ledger::{NewLead, NewTransaction, Scope};
        let scope = Scope::new(merchant_id, Env::Dev);
        let beans = self
            .list_currencies(merchant_id, None, 10)
            .await?
            .into_iter()
            .find(|c| c.code == "BEANS")
            .ok_or(AppError::NotFound("currency"))?;
        let deal = self
            .create_deal(
                merchant_id,
                Env::Dev,
                &crate::deals::DealDraft {
                    name: "Free flat white".to_string(),
                    description: "One flat white, any size, at any of our counters.".to_string(),
                    kind: "voucher".to_string(),
                    sell_price: "120".to_string(),
                    available: true,
                    visibility: "private".to_string(),
                    ..Default::default()
                },
            )
            .await?;
        let deal_id = deal.deal.id.to_string();
        self.generate_codes(&scope, &deal_id, 25).await?;
        let people = [
            ("demo-0001", "Ada Example", "ada@example.com", 340),
            ("demo-0002", "Grace Example", "grace@example.com", 90),
            ("demo-0003", "Alan Example", "alan@example.com", 0),
        ];
        for (i, (customer_id, name, email, points)) in people.into_iter().enumerate() {
            let lead = self
                .create_lead(
                    &scope,
                    NewLead {
                        customer_id: customer_id.to_string(),
                        name: Some(name.to_string()),
                        email: Some(email.to_string()),
                        ..Default::default()
                    },
                )
                .await?;
            let wallet = self
                .create_wallet(&scope, lead.id.as_str(), beans.id.as_str())
                .await?;
            if points > 0 {
                self.create_transaction(
                    &scope,
                    &NewTransaction {
                        wallet_id: wallet.id.to_string(),
                        kind: "reward".to_string(),
                        amount: points,
                        hash: format!("demo-welcome-{i}"),
                        description: Some("Welcome bonus".to_string()),
                    },
                )
                .await?;
            }
            if i == 0 {
                self.create_coupon(
                    &scope,
                    &NewCoupon {
                        deal_id: deal_id.clone(),
                        lead_id: lead.id.to_string(),
                        currency_id: Some(beans.id.to_string()),
                        hash: "demo-coupon-0".to_string(),
                        mode: Some("redeem".to_string()),
                    },
                )
                .await?;
            }
        }
        Ok(())
    }
}
