//! The demo account behind `punchcard serve --demo`: created once, then reused.

use crate::deals::Deals;
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
            // Both environments get the same customers and activity: the dashboard opens on
            // PROD, and a newcomer should see it alive before switching to DEV.
            for (env, key) in &new_keys {
                self.seed_demo_data(&merchant_id, *env, key).await?;
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

impl App {
    /// A few customers with points, a deal with codes and a coupon, and a task, a birthday
    /// surprise and an earn rule with some activity, so every page has something to show.
    /// Written through the same use cases as the API, with the environment's key.
    async fn seed_demo_data(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        key: &crate::api_keys::CreatedApiKey,
    ) -> Result<(), AppError> {
        use crate::coupons::NewCoupon;
        use crate::ledger::{NewLead, NewTransaction, Scope};
        let scope = Scope::new(merchant_id, env);
        let beans = self
            .list_currencies(merchant_id, None, 10)
            .await?
            .into_iter()
            .find(|c| c.code == "BEANS")
            .ok_or(AppError::NotFound("currency"))?;
        let deal = self
            .create_item::<Deals>(
                merchant_id,
                env,
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
        let deal_id = deal.row.id.to_string();
        self.generate_codes(&scope, &deal_id, 25).await?;
        // Alan's birthday is today, so the birthday surprise has someone to surprise.
        let today = Timestamp::now().datetime().date();
        let birthday = format!("1992-{:02}-{:02}", u8::from(today.month()), today.day());
        let people = [
            ("demo-0001", "Ada Example", "ada@example.com", 340, None),
            ("demo-0002", "Grace Example", "grace@example.com", 90, None),
            (
                "demo-0003",
                "Alan Example",
                "alan@example.com",
                0,
                Some(birthday),
            ),
        ];
        let mut leads = Vec::new();
        for (i, (customer_id, name, email, points, dob)) in people.into_iter().enumerate() {
            let lead = self
                .create_lead(
                    &scope,
                    NewLead {
                        customer_id: customer_id.to_string(),
                        name: Some(name.to_string()),
                        email: Some(email.to_string()),
                        dob,
                        ..Default::default()
                    },
                )
                .await?;
            leads.push(lead.id.to_string());
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
        self.seed_demo_campaigns(&scope, key, beans.id.as_str(), &deal_id, &leads)
            .await
    }

    /// A task (three visits earn 10-25 beans) with one lead part-way and one done, a birthday
    /// surprise claimed once, and an earn rule (a bean per 10 spent, at most 50) triggered twice.
    async fn seed_demo_campaigns(
        &self,
        scope: &crate::ledger::Scope,
        created_key: &crate::api_keys::CreatedApiKey,
        currency_id: &str,
        deal_id: &str,
        leads: &[String],
    ) -> Result<(), AppError> {
        use crate::campaigns::surprises::{NewClaim, SurpriseDraft};
        use crate::campaigns::tasks::{NewActivity, TaskDraft};
        use crate::campaigns::{RuleDraft, Trigger};
        let key = self
            .authenticate_api_key(created_key.id.as_str(), &created_key.secret)
            .await?;
        let task = self
            .create_task(
                scope,
                &TaskDraft {
                    name: "Three visits".to_string(),
                    currency_id: Some(currency_id.to_string()),
                    reward: "points".to_string(),
                    count: Some(3),
                    min_reward: Some(10),
                    max_reward: Some(25),
                    ..Default::default()
                },
            )
            .await?;
        for (lead, visits) in leads.iter().zip([2, 3]) {
            for visit in 0..visits {
                self.record_task_activity(
                    &key,
                    &NewActivity {
                        task_id: task.campaign.id.to_string(),
                        lead_id: lead.clone(),
                        hash: format!("demo-visit-{lead}-{visit}"),
                    },
                )
                .await?;
            }
        }
        let surprise = self
            .create_surprise(
                scope,
                &SurpriseDraft {
                    name: "Birthday coffee".to_string(),
                    occasion: "lead_birthday".to_string(),
                    count: Some(1),
                    deal_id: deal_id.to_string(),
                    ..Default::default()
                },
            )
            .await?;
        if let Some(alan) = leads.get(2) {
            self.claim_surprise(
                &key,
                &NewClaim {
                    surprise_id: surprise.campaign.id.to_string(),
                    lead_id: alan.clone(),
                    hash: "demo-birthday".to_string(),
                },
            )
            .await?;
        }
        let rule = self
            .create_rule(
                scope,
                &RuleDraft {
                    name: "Beans per purchase".to_string(),
                    direction: "earn".to_string(),
                    currency_id: currency_id.to_string(),
                    rate: Some("0.1".to_string()),
                    cap_max: Some(50),
                    authorized_key_ids: vec![created_key.id.to_string()],
                    ..Default::default()
                },
            )
            .await?;
        let rule_id = rule.campaign.id.to_string();
        self.set_rule_active(scope, &rule_id, true).await?;
        for (i, amount) in [120, 80].into_iter().enumerate() {
            self.trigger_rule(
                &key,
                &rule_id,
                &Trigger {
                    lead_id: leads.first().cloned(),
                    amount: Some(amount),
                    hash: format!("demo-purchase-{i}"),
                    ..Default::default()
                },
            )
            .await?;
        }
        Ok(())
    }
}
