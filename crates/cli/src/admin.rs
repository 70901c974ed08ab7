//! `punchcard admin`: the operator's commands. Each prints one JSON document on stdout.

use clap::{Args, Subcommand};
use punchcard_app::allowed_ips::NewAllowedIp;
use punchcard_app::merchants::NewMerchant;
use punchcard_app::plans::PlanChange;
use punchcard_app::{App, AppError, AppSettings};
use punchcard_domain::{Env, MerchantId};
use punchcard_store::Db;
use serde_json::{json, Value};

#[derive(Args)]
pub struct AdminArgs {
    /// Database URL: sqlite://FILE or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        global = true,
        env = "PUNCHCARD_DATABASE_URL",
        default_value = "sqlite://punchcard.db"
    )]
    database_url: String,

    /// Accept callback URLs on private or loopback addresses.
    #[arg(long, global = true, env = "PUNCHCARD_ALLOW_PRIVATE_CALLBACKS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    allow_private_callbacks: bool,

    /// Where uploads are stored: file://DIR or s3://BUCKET[/PREFIX] (as the server's).
    #[arg(
        long,
        global = true,
        env = "PUNCHCARD_STORAGE_URL",
        default_value = "file://./uploads"
    )]
    storage_url: String,

    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Merchants: create, list, show, activate, reject, freeze, unfreeze.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Currencies of a merchant.
    #[command(subcommand)]
    Currency(CurrencyCommand),
    /// API keys of a merchant.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// A merchant's plan: quotas and rate limit.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// A merchant's allowed IPs (to unlock a merchant its dashboard list shut out).
    #[command(subcommand, name = "allowed-ip")]
    AllowedIp(AllowedIpCommand),
    /// The server keys that sign QR codes (lead IDs, coupons).
    #[command(subcommand, name = "signing-key")]
    SigningKey(SigningKeyCommand),
    /// Swap contracts between merchants: list, approve (activate), suspend.
    #[command(subcommand, name = "swap-contract")]
    SwapContract(SwapContractCommand),
}

#[derive(Subcommand)]
enum SigningKeyCommand {
    /// Make a new key sign from now on; codes signed by the keys before it keep working for a
    /// day, then are refused.
    Rotate,
}

#[derive(Subcommand)]
enum SwapContractCommand {
    /// Every contract of every merchant and env.
    List,
    /// Activate a contract the partner accepted (or one that was suspended).
    Approve { contract_id: String },
    /// Suspend a contract: no swap goes through it until it is approved again.
    Suspend { contract_id: String },
}

#[derive(Subcommand)]
enum AllowedIpCommand {
    /// Add an entry: an IP address or CIDR range for the API or the dashboard.
    Add {
        #[arg(long)]
        merchant: String,
        /// `api` or `dashboard`.
        #[arg(long)]
        source: String,
        /// An address (203.0.113.7, 2001:db8::1) or a CIDR range (203.0.113.0/24).
        #[arg(long)]
        ip: String,
    },
    /// List a merchant's allowed IPs.
    List {
        #[arg(long)]
        merchant: String,
    },
    /// Delete one entry.
    Delete {
        #[arg(long)]
        merchant: String,
        allowed_ip_id: String,
    },
}

#[derive(Subcommand)]
enum MerchantCommand {
    /// Create a merchant and its owner; `--active` skips KYC.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, env = "PUNCHCARD_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        active: bool,
    },
    /// List all merchants.
    List,
    /// Show one merchant with its plan.
    Show { merchant_id: String },
    /// The KYC a merchant submitted: its business details and documents.
    Kyc {
        merchant_id: String,
        /// Write the documents into this directory (created if missing).
        #[arg(long, value_name = "DIR")]
        download: Option<std::path::PathBuf>,
    },
    /// Approve KYC: the merchant becomes active.
    Activate { merchant_id: String },
    /// Reject KYC with a reason the merchant sees.
    Reject {
        merchant_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Freeze: API keys and dashboard sessions are refused.
    Freeze { merchant_id: String },
    /// Unfreeze: back to the status before the freeze.
    Unfreeze { merchant_id: String },
    /// Change a merchant's settings.
    Set {
        #[arg(long)]
        merchant: String,
        /// Swaps between two leads of the merchant: `on` or `off`.
        #[arg(long, value_parser = ["on", "off"])]
        lead_swaps: Option<String>,
    },
}

#[derive(Subcommand)]
enum CurrencyCommand {
    /// Create a currency.
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Coins one point is worth, an exact decimal such as 1 or 0.25.
        #[arg(long, allow_hyphen_values = true)]
        coins_per_unit: String,
    },
    /// List a merchant's currencies.
    List {
        #[arg(long)]
        merchant: String,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create an API key; its secret is printed only now.
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        env: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        callback_url: Option<String>,
    },
    /// List a merchant's keys in one env (never the secrets).
    List {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        env: String,
    },
    /// Revoke a key.
    Revoke {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        env: String,
        key_id: String,
    },
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Change quotas or the rate limit; unset options keep their value.
    Set {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        leads: Option<i64>,
        #[arg(long)]
        rewards: Option<i64>,
        #[arg(long)]
        redeems: Option<i64>,
        #[arg(long)]
        swaps: Option<i64>,
        /// API calls a minute (up to 300000, i.e. 5000 a second).
        #[arg(long, allow_hyphen_values = true)]
        rate_limit: Option<i64>,
    },
    /// Show a merchant's plan.
    Show {
        #[arg(long)]
        merchant: String,
    },
}

fn merchant_id(s: &str) -> anyhow::Result<MerchantId> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("`{s}` is not a merchant id (mer_…)"))
}

fn env(s: &str) -> anyhow::Result<Env> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("--env must be `dev` or `prod`"))
}

/// Turns an application error into a message an operator can act on.
fn explain(e: AppError) -> anyhow::Error {
    match e {
        AppError::Validation(errors) => anyhow::anyhow!("invalid arguments: {errors}"),
        other => anyhow::anyhow!("{other}"),
    }
}

fn merchant_json(m: &punchcard_store::accounts::MerchantRow) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "status": m.status.as_str(),
        "rejection_reason": m.rejection_reason,
        "created_at": m.created_at.to_rfc3339(),
    })
}

/// A swap contract as the operator sees it.
fn contract_json(c: &punchcard_store::swaps::ContractRow) -> Value {
    json!({
        "id": c.id,
        "env": c.env.as_str(),
        "merchant_id": c.merchant_id,
        "partner_merchant_id": c.partner_merchant_id,
        "currency_id": c.currency_id,
        "partner_currency_id": c.partner_currency_id,
        "rate": c.rate.to_string(),
        "per_swap_max": c.per_swap_max,
        "daily_max": c.daily_max,
        "status": c.status.as_str(),
        "suspended_by": c.suspended_by.map(|s| s.as_str()),
        "created_at": c.created_at.to_rfc3339(),
        "updated_at": c.updated_at.to_rfc3339(),
    })
}

fn allowed_ip_json(r: &punchcard_store::allowed_ips::AllowedIpRow) -> Value {
    json!({
        "id": r.id,
        "source": r.source,
        "ip": r.cidr,
        "created_at": r.created_at.to_rfc3339(),
    })
}

/// A merchant's KYC as the operator reviews it; with `download`, its documents written there
/// (read through the server's storage, local or S3).
async fn kyc(
    app: &App,
    storage_url: &str,
    id: &MerchantId,
    download: Option<&std::path::Path>,
) -> anyhow::Result<Value> {
    let o = app.kyc_overview(id).await.map_err(explain)?;
    let profile = o.profile.as_ref().map(|p| {
        json!({
            "legal_name": p.legal_name,
            "business_type": p.business_type,
            "registration_number": p.registration_number,
            "tax_id": p.tax_id,
            "website": p.website,
            "phone": p.phone,
            "address_line": p.address_line,
            "city": p.city,
            "postal_code": p.postal_code,
            "country": p.country,
            "contact_person": p.contact_person,
            "submitted_at": p.submitted_at.map(|t| t.to_rfc3339()),
            "updated_at": p.updated_at.to_rfc3339(),
        })
    });
    let storage = match download {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("cannot create the directory {}: {e}", dir.display())
            })?;
            Some(punchcard_server::storage::Storage::open(storage_url)?)
        }
        None => None,
    };
    let mut written: Vec<String> = Vec::new();
    let mut documents = Vec::new();
    for d in &o.documents {
        let mut doc = json!({
            "id": d.id,
            "name": d.name,
            "content_type": d.content_type,
            "size_bytes": d.size_bytes,
            "uploaded_at": d.created_at.to_rfc3339(),
        });
        if let (Some(dir), Some(storage)) = (download, &storage) {
            let content = app.read_upload(storage, id, &d.id).await.map_err(explain)?;
            // The shown name is already a bare file name; two alike get the id in front.
            let name = if written.contains(&d.name) {
                format!("{}-{}", d.id, d.name)
            } else {
                d.name.clone()
            };
            let path = dir.join(&name);
            std::fs::write(&path, &content.bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            doc["file"] = json!(path.display().to_string());
            written.push(name);
        }
        documents.push(doc);
    }
    let mut v = json!({
        "merchant": merchant_json(&o.merchant),
        "profile": profile,
        "documents": documents,
    });
    if let Some(dir) = download {
        v["downloaded_to"] = json!(dir.display().to_string());
    }
    Ok(v)
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let db = Db::connect(&args.database_url).await?;
    db.migrate().await?;
    let app = App::new(
        db.clone(),
        AppSettings {
            allow_private_callbacks: args.allow_private_callbacks,
            ..AppSettings::default()
        },
    );
    let out = execute(&app, &args.storage_url, args.command).await;
    db.close().await;
    let out = out?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

async fn execute(app: &App, storage_url: &str, command: AdminCommand) -> anyhow::Result<Value> {
    Ok(match command {
        AdminCommand::Merchant(cmd) => match cmd {
            MerchantCommand::Create {
                name,
                email,
                password,
                active,
            } => {
                let new = NewMerchant::parse(&name, &email, &password, active).map_err(explain)?;
                let (id, member_id) = app.create_merchant(new).await.map_err(explain)?;
                let m = app.merchant(&id).await.map_err(explain)?;
                json!({"id": id, "owner_id": member_id, "status": m.status.as_str()})
            }
            MerchantCommand::List => {
                let all = app.list_merchants().await.map_err(explain)?;
                json!({"data": all.iter().map(merchant_json).collect::<Vec<_>>()})
            }
            MerchantCommand::Show { merchant_id: id } => {
                let id = merchant_id(&id)?;
                let m = app.merchant(&id).await.map_err(explain)?;
                let plan = app.plan(&id).await.map_err(explain)?;
                let mut v = merchant_json(&m);
                v["plan"] = json!(plan);
                v
            }
            MerchantCommand::Kyc {
                merchant_id: id,
                download,
            } => kyc(app, storage_url, &merchant_id(&id)?, download.as_deref()).await?,
            MerchantCommand::Activate { merchant_id: id } => merchant_json(
                &app.activate_merchant(&merchant_id(&id)?)
                    .await
                    .map_err(explain)?,
            ),
            MerchantCommand::Reject {
                merchant_id: id,
                reason,
            } => merchant_json(
                &app.reject_merchant(&merchant_id(&id)?, &reason)
                    .await
                    .map_err(explain)?,
            ),
            MerchantCommand::Freeze { merchant_id: id } => merchant_json(
                &app.freeze_merchant(&merchant_id(&id)?)
                    .await
                    .map_err(explain)?,
            ),
            MerchantCommand::Unfreeze { merchant_id: id } => merchant_json(
                &app.unfreeze_merchant(&merchant_id(&id)?)
                    .await
                    .map_err(explain)?,
            ),
            MerchantCommand::Set {
                merchant,
                lead_swaps,
            } => {
                let id = merchant_id(&merchant)?;
                if let Some(on) = lead_swaps {
                    app.set_lead_swaps(&id, on == "on").await.map_err(explain)?;
                }
                let on = app.lead_swaps(&id).await.map_err(explain)?;
                json!({"id": id, "lead_swaps": if on { "on" } else { "off" }})
            }
        },
        AdminCommand::SwapContract(cmd) => match cmd {
            SwapContractCommand::List => {
                let all = app.all_contracts().await.map_err(explain)?;
                json!({"data": all.iter().map(contract_json).collect::<Vec<_>>()})
            }
            SwapContractCommand::Approve { contract_id } => {
                contract_json(&app.approve_contract(&contract_id).await.map_err(explain)?)
            }
            SwapContractCommand::Suspend { contract_id } => contract_json(
                &app.operator_suspend_contract(&contract_id)
                    .await
                    .map_err(explain)?,
            ),
        },
        AdminCommand::SigningKey(SigningKeyCommand::Rotate) => {
            let id = app.rotate_signing_key().await.map_err(explain)?;
            json!({"id": id, "previous_keys_retire_in_hours": punchcard_app::tokens::RETIRED_KEY_GRACE.whole_hours()})
        }
        AdminCommand::Currency(cmd) => match cmd {
            CurrencyCommand::Create {
                merchant,
                code,
                name,
                coins_per_unit,
            } => {
                let c = app
                    .create_currency(&merchant_id(&merchant)?, &code, &name, &coins_per_unit)
                    .await
                    .map_err(explain)?;
                json!({"id": c.id, "code": c.code, "name": c.name, "coins_per_unit": c.coins_per_unit.to_string()})
            }
            CurrencyCommand::List { merchant } => {
                let all = app
                    .list_currencies(&merchant_id(&merchant)?, None, i64::MAX)
                    .await
                    .map_err(explain)?;
                json!({"data": all.iter().map(|c| json!({"id": c.id, "code": c.code, "name": c.name, "coins_per_unit": c.coins_per_unit.to_string()})).collect::<Vec<_>>()})
            }
        },
        AdminCommand::ApiKey(cmd) => match cmd {
            ApiKeyCommand::Create {
                merchant,
                env: e,
                name,
                callback_url,
            } => {
                let k = app
                    .create_api_key(
                        &merchant_id(&merchant)?,
                        env(&e)?,
                        &name,
                        callback_url.as_deref(),
                    )
                    .await
                    .map_err(explain)?;
                json!({"id": k.id, "secret": k.secret, "signing_secret": k.signing_secret})
            }
            ApiKeyCommand::List { merchant, env: e } => {
                let keys = app
                    .list_api_keys(&merchant_id(&merchant)?, env(&e)?)
                    .await
                    .map_err(explain)?;
                json!({"data": keys.iter().map(|k| json!({
                    "id": k.id, "env": k.env, "name": k.name, "callback_url": k.callback_url,
                    "created_at": k.created_at.to_rfc3339(),
                    "revoked_at": k.revoked_at.map(|t| t.to_rfc3339()),
                })).collect::<Vec<_>>()})
            }
            ApiKeyCommand::Revoke {
                merchant,
                env: e,
                key_id,
            } => {
                let id = key_id
                    .parse()
                    .map_err(|_| anyhow::anyhow!("`{key_id}` is not an API key id (key_…)"))?;
                app.revoke_api_key(&merchant_id(&merchant)?, env(&e)?, &id)
                    .await
                    .map_err(explain)?;
                json!({"id": key_id, "revoked": true})
            }
        },
        AdminCommand::AllowedIp(cmd) => match cmd {
            AllowedIpCommand::Add {
                merchant,
                source,
                ip,
            } => {
                let new = NewAllowedIp::parse(&source, &ip)
                    .map_err(|e| explain(AppError::Validation(e)))?;
                let r = app
                    .add_allowed_ip(&merchant_id(&merchant)?, new)
                    .await
                    .map_err(explain)?;
                allowed_ip_json(&r)
            }
            AllowedIpCommand::List { merchant } => {
                let rows = app
                    .list_allowed_ips(&merchant_id(&merchant)?)
                    .await
                    .map_err(explain)?;
                json!({"data": rows.iter().map(allowed_ip_json).collect::<Vec<_>>()})
            }
            AllowedIpCommand::Delete {
                merchant,
                allowed_ip_id,
            } => {
                let id = allowed_ip_id.parse().map_err(|_| {
                    anyhow::anyhow!("`{allowed_ip_id}` is not an allowed-IP id (aip_…)")
                })?;
                app.delete_allowed_ip(&merchant_id(&merchant)?, &id)
                    .await
                    .map_err(explain)?;
                json!({"id": allowed_ip_id, "deleted": true})
            }
        },
        AdminCommand::Plan(cmd) => match cmd {
            PlanCommand::Set {
                merchant,
                leads,
                rewards,
                redeems,
                swaps,
                rate_limit,
            } => {
                let plan = app
                    .set_plan(
                        &merchant_id(&merchant)?,
                        PlanChange {
                            leads,
                            rewards,
                            redeems,
                            swaps,
                            rate_limit_per_minute: rate_limit,
                        },
                    )
                    .await
                    .map_err(explain)?;
                json!({"merchant_id": merchant, "plan": plan})
            }
            PlanCommand::Show { merchant } => {
                let plan = app.plan(&merchant_id(&merchant)?).await.map_err(explain)?;
                json!({"merchant_id": merchant, "plan": plan})
            }
        },
    })
}
