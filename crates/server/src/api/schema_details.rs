//! The details the derived OpenAPI schemas lack, declared once for the whole document: list
//! items by reference, timestamp and date formats, the words of every enum field, short
//! summaries, the headers answers carry, the server and the callback a key's URL receives.

use punchcard_app::callbacks::SIGNATURE_HEADER;
use punchcard_domain::campaigns::{CampaignKind, CampaignStatus, Occasion, Period, TaskReward};
use punchcard_domain::catalog::{DealKind, StoreMode, Visibility};
use punchcard_domain::coupons::{CodeKind, CouponMode, CouponStatus};
use punchcard_domain::ledger::TransactionKind;
use punchcard_domain::swaps::{ContractStatus, SuspendedBy};
use punchcard_domain::vouchers::IntegrationStatus;
use punchcard_domain::Env;
use serde_json::{json, Value};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{
    ArrayItems, KnownFormat, Object, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{HeaderBuilder, ObjectBuilder, OpenApi, Ref, RefOr};
use utoipa::{Modify, ToSchema};

/// Adds the details (see the module's documentation).
pub struct SchemaDetails;

/// The words a field takes: `(schema, field, words)`; `*` stands for every schema.
fn enum_fields() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let words = |v: &[&'static str]| v.to_vec();
    let campaign_kinds: Vec<_> = CampaignKind::ALL.iter().map(|k| k.as_str()).collect();
    let campaign_statuses: Vec<_> = CampaignStatus::ALL.iter().map(|k| k.as_str()).collect();
    let deal_kinds: Vec<_> = DealKind::ALL.iter().map(|k| k.as_str()).collect();
    let code_kinds: Vec<_> = CodeKind::ALL.iter().map(|k| k.as_str()).collect();
    let visibilities = vec![Visibility::Private.as_str(), Visibility::Partner.as_str()];
    let store_modes = vec![StoreMode::Online.as_str(), StoreMode::Offline.as_str()];
    let coupon_modes = vec![CouponMode::Redeem.as_str(), CouponMode::Reward.as_str()];
    let coupon_statuses = vec![
        CouponStatus::Issued.as_str(),
        CouponStatus::Used.as_str(),
        CouponStatus::Cancelled.as_str(),
    ];
    let integration_statuses: Vec<_> = IntegrationStatus::ALL.iter().map(|k| k.as_str()).collect();
    let contract_statuses: Vec<_> = ContractStatus::ALL.iter().map(|k| k.as_str()).collect();
    let suspended_by = vec![
        SuspendedBy::Proposer.as_str(),
        SuspendedBy::Partner.as_str(),
        SuspendedBy::Operator.as_str(),
    ];
    let directions = words(&["earn", "redeem"]);
    let occasions: Vec<_> = Occasion::ALL.iter().map(|k| k.as_str()).collect();
    let periods: Vec<_> = Period::ALL.iter().map(|k| k.as_str()).collect();
    let task_rewards: Vec<_> = TaskReward::ALL.iter().map(|k| k.as_str()).collect();
    let outcomes = words(&["awarded", "out_of_vouchers", "error", "exception"]);
    let mut fields = vec![
        ("*", "env", vec![Env::Dev.as_str(), Env::Prod.as_str()]),
        ("*", "visibility", visibilities),
        ("Campaign", "kind", campaign_kinds.clone()),
        ("Report", "kind", campaign_kinds),
        ("Rule", "kind", vec![CampaignKind::Rule.as_str()]),
        ("Task", "kind", vec![CampaignKind::Task.as_str()]),
        ("Surprise", "kind", vec![CampaignKind::Surprise.as_str()]),
        (
            "VoucherCampaign",
            "kind",
            vec![CampaignKind::Voucher.as_str()],
        ),
        ("Deal", "kind", deal_kinds.clone()),
        ("NewDeal", "kind", deal_kinds.clone()),
        ("DealChanges", "kind", deal_kinds),
        ("CouponCode", "kind", code_kinds.clone()),
        ("CreateCouponCode", "kind", code_kinds.clone()),
        ("UploadCouponCodes", "kind", code_kinds),
        ("CouponCode", "status", words(&["available", "issued"])),
        (
            "WalletTransaction",
            "kind",
            TransactionKind::ALL.iter().map(|k| k.as_str()).collect(),
        ),
        (
            "CreateWalletTransaction",
            "kind",
            vec![
                TransactionKind::Reward.as_str(),
                TransactionKind::Adjust.as_str(),
            ],
        ),
        ("ResolvedAnswer", "kind", words(&["lead", "coupon"])),
        ("Store", "mode", store_modes.clone()),
        ("NewStore", "mode", store_modes.clone()),
        ("StoreChanges", "mode", store_modes),
        ("Coupon", "mode", coupon_modes.clone()),
        ("CreateCoupon", "mode", coupon_modes),
        ("Coupon", "status", coupon_statuses),
        ("Integration", "status", integration_statuses.clone()),
        ("NewIntegration", "status", integration_statuses.clone()),
        ("IntegrationChanges", "status", integration_statuses),
        ("SwapContract", "status", contract_statuses),
        ("SwapContract", "suspended_by", suspended_by),
        ("SwapContract", "role", words(&["proposer", "partner"])),
        ("Rule", "type", directions.clone()),
        ("NewRule", "type", directions.clone()),
        ("Share", "type", directions),
        ("Surprise", "type", occasions.clone()),
        ("NewSurprise", "type", occasions.clone()),
        ("SurpriseChanges", "type", occasions),
        ("Task", "period", periods.clone()),
        ("NewTask", "period", periods.clone()),
        ("TaskChanges", "period", periods),
        ("Task", "reward", task_rewards.clone()),
        ("NewTask", "reward", task_rewards.clone()),
        ("TaskChanges", "reward", task_rewards),
        ("Interaction", "outcome", outcomes.clone()),
        ("ReportResponse", "outcome", outcomes),
        ("TriggerResult", "outcome", words(&["awarded"])),
    ];
    for schema in [
        "Campaign",
        "Report",
        "Rule",
        "Task",
        "Surprise",
        "VoucherCampaign",
    ] {
        fields.push((schema, "status", campaign_statuses.clone()));
    }
    fields
}

/// The words of `field` in `schema`, if it is an enum.
fn words_of(
    fields: &[(&str, &str, Vec<&'static str>)],
    schema: &str,
    field: &str,
) -> Option<Vec<&'static str>> {
    fields
        .iter()
        .find(|(s, f, _)| *s == schema && *f == field)
        .or_else(|| fields.iter().find(|(s, f, _)| *s == "*" && *f == field))
        .map(|(_, _, w)| w.clone())
}

fn is_nullable(o: &Object) -> bool {
    matches!(&o.schema_type, SchemaType::Array(types) if types.contains(&Type::Null))
}

fn is_string(o: &Object) -> bool {
    match &o.schema_type {
        SchemaType::Type(Type::String) => true,
        SchemaType::Array(types) => types.contains(&Type::String),
        _ => false,
    }
}

/// Timestamps (`…_at`, `hour`) are RFC 3339 date-times; `date`, `dob`, `from` and `to` days.
fn format_of(field: &str) -> Option<KnownFormat> {
    if field.ends_with("_at") || field == "hour" {
        Some(KnownFormat::DateTime)
    } else if matches!(field, "date" | "dob" | "from" | "to") {
        Some(KnownFormat::Date)
    } else {
        None
    }
}

fn refine_property(
    fields: &[(&str, &str, Vec<&'static str>)],
    schema: &str,
    field: &str,
    property: &mut RefOr<Schema>,
) {
    let RefOr::T(Schema::Object(o)) = property else {
        return;
    };
    if !is_string(o) {
        return;
    }
    if o.format.is_none() {
        if let Some(format) = format_of(field) {
            o.format = Some(SchemaFormat::KnownFormat(format));
        }
    }
    if let Some(words) = words_of(fields, schema, field) {
        let mut values: Vec<Value> = words.into_iter().map(Value::from).collect();
        if is_nullable(o) {
            values.push(Value::Null);
        }
        o.enum_values = Some(values);
        // The words say it all: a pattern repeating them would only be noise.
        o.pattern = None;
    }
    if field == "hash" && o.description.is_none() {
        o.description = Some(HASH_DESCRIPTION.to_string());
    }
}

/// What `hash` is. Its name is part of the contract; generated clients in languages where it
/// is a builtin rename the attribute (Python's generator writes `hash_`), not the JSON key.
const HASH_DESCRIPTION: &str =
    "The caller's retry key for this action (1-128 of `A-Z a-z 0-9 . _ : -`): \
a repeat with the same body answers the first result; reused with another body it answers 422 \
`idempotency_mismatch`.";

fn refine_schemas(openapi: &mut OpenApi) {
    let fields = enum_fields();
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in components.schemas.iter_mut() {
        let RefOr::T(Schema::Object(o)) = schema else {
            continue;
        };
        for (field, property) in o.properties.iter_mut() {
            refine_property(&fields, name, field, property);
        }
        // `Page_Lead`'s items are a `Lead`: refer to it instead of repeating it inline.
        if let Some(item) = name.strip_prefix("Page_") {
            if names.iter().any(|n| n == item) {
                if let Some(RefOr::T(Schema::Array(a))) = o.properties.get_mut("data") {
                    a.items =
                        ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
                }
            }
        }
    }
}

fn integer_header(description: &str) -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .description(Some(description))
        .build()
}

/// The rate-limit headers of an answer that passed the limiter.
fn add_rate_limit_headers(r: &mut Response) {
    let headers = [
        (
            "RateLimit-Limit",
            "calls allowed in the current 60-second window",
        ),
        ("RateLimit-Remaining", "calls left in the current window"),
        ("RateLimit-Reset", "seconds until the current window ends"),
    ];
    for (name, description) in headers {
        r.headers
            .entry(name.to_string())
            .or_insert_with(|| integer_header(description));
    }
}

fn add_replayed_header(r: &mut Response) {
    r.headers
        .entry("Idempotent-Replayed".to_string())
        .or_insert_with(|| {
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["true"])),
                )
                .description(Some(
                    "`true` when this is the stored answer of an earlier request with the same \
                 `Idempotency-Key` (or `hash`), which was not run again",
                ))
                .build()
        });
}

/// The shared answers that pass the rate limiter (authentication and allowed IPs come first).
const LIMITED_SHARED: [&str; 6] = [
    "BadRequest",
    "NotFound",
    "IdempotencyInProgress",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "ValidationFailed",
];

fn refine_operation(op: &mut Operation, is_post: bool) {
    if let Some(summary) = op.summary.take() {
        let (short, long) = split_summary(&summary);
        if let Some(long) = long {
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{long}\n\n{d}"),
                _ => long,
            });
        }
        op.summary = Some(short);
    }
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if !authenticated {
        // Open to anyone, and said so: no requirement is an empty one.
        op.security = Some(vec![SecurityRequirement::default()]);
        return;
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(r) = response else { continue };
        if status == "401" {
            continue;
        }
        if status != "403" {
            add_rate_limit_headers(r);
        }
        if is_post && (status.starts_with('2') || status.starts_with('4')) {
            add_replayed_header(r);
        }
    }
    for p in op.parameters.iter_mut().flatten() {
        if matches!(p.parameter_in, ParameterIn::Query) {
            if let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() {
                if matches!(p.name.as_str(), "from" | "to") && o.format.is_none() {
                    o.format = Some(SchemaFormat::KnownFormat(KnownFormat::Date));
                }
            }
        }
    }
}

/// A summary is one short line: a longer documentation comment keeps its first clause (up to
/// the first `.`, `:` or `;` outside brackets and code) as the summary and goes whole into the
/// description.
fn split_summary(summary: &str) -> (String, Option<String>) {
    let flat = summary.split_whitespace().collect::<Vec<_>>().join(" ");
    let (mut depth, mut code) = (0i32, false);
    let mut cut = None;
    let chars: Vec<(usize, char)> = flat.char_indices().collect();
    for (n, &(i, c)) in chars.iter().enumerate() {
        match c {
            '`' => code = !code,
            '(' | '[' if !code => depth += 1,
            ')' | ']' if !code => depth -= 1,
            '.' | ':' | ';'
                if !code
                    && depth == 0
                    && chars.get(n + 1).is_some_and(|&(_, next)| next == ' ') =>
            {
                cut = Some(i);
                break;
            }
            _ => {}
        }
    }
    match cut {
        Some(i) => (flat[..i].to_string(), Some(summary.to_string())),
        None => (flat.trim_end_matches('.').to_string(), None),
    }
}

/// The body a key's callback URL receives before an action is written (documentation of
/// `punchcard_app::callbacks::PendingAction`, which a test keeps in step with it).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CallbackAction {
    /// New for every attempt: a retried request is a new attempt with a new id.
    #[schema(example = "act_01jz6m3d9q8k2v5w7x0y1z2a3b")]
    id: String,
    /// What is about to be written.
    #[schema(example = "reward", value_type = String, pattern = "^(reward|adjust|redeem|coupon|swap)$")]
    kind: String,
    env: String,
    merchant_id: String,
    /// The key the action was made with.
    #[schema(example = "key_01jz6k2c8p7n6m5l4k3j2h1g0f")]
    api_key_id: String,
    lead_id: Option<String>,
    wallet_id: Option<String>,
    currency_id: Option<String>,
    /// Coupons only.
    deal_id: Option<String>,
    /// Signed points (a negative adjustment is negative).
    amount: Option<i64>,
    hash: Option<String>,
    /// Coupons only: `redeem` (paid with points) or `reward` (given).
    mode: Option<String>,
    #[schema(example = "2025-07-04T09:30:12.345678Z")]
    created_at: String,
}

/// The callback as an OpenAPI 3.1 webhook: the request Punchcard sends to a key's callback URL.
fn callback_webhook() -> Value {
    json!({
        "post": {
            "operationId": "approve_action",
            "summary": "Approve or refuse an action before it is written",
            "description": "Sent to the callback URL of the API key an action (a wallet `reward` or \
    `adjust`, a `redeem`, a `coupon`, a `swap`) is made with, before it is written. A 2xx within the \
    timeout (5 s by default) lets it go ahead; any other status (redirects are not followed), a \
    timeout or a connection error refuses it: the API answers 422 `callback_rejected` and nothing is \
    written. Fields that do not apply to the action are left out.",
            "tags": ["callbacks"],
            "security": [{}],
            "parameters": [
                {
                    "name": SIGNATURE_HEADER,
                    "in": "header",
                    "required": true,
                    "description": "`t=<unix seconds>,v1=<hex HMAC-SHA256(signing secret, \"<t>.<raw body>\")>`, \
    with the key's `whsec_…` signing secret; reject old timestamps and compare in constant time",
                    "schema": {"type": "string", "pattern": "^t=[0-9]+,v1=[0-9a-f]{64}$"}
                },
                {
                    "name": "User-Agent",
                    "in": "header",
                    "required": true,
                    "schema": {"type": "string", "example": "punchcard/0.1.0"}
                }
            ],
            "requestBody": {
                "required": true,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallbackAction"}}}
            },
            "responses": {
                "2XX": {"description": "the action may be written"},
                "default": {"description": "any other answer refuses the action"}
            }
        }
    })
}

impl Modify for SchemaDetails {
    fn modify(&self, openapi: &mut OpenApi) {
        refine_schemas(openapi);
        if let Some(components) = openapi.components.as_mut() {
            for name in LIMITED_SHARED.iter().chain(["RateLimited"].iter()) {
                if let Some(RefOr::T(r)) = components.responses.get_mut(*name) {
                    add_rate_limit_headers(r);
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            for (is_post, op) in [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (false, item.put.as_mut()),
                (false, item.patch.as_mut()),
                (false, item.delete.as_mut()),
            ] {
                if let Some(op) = op {
                    refine_operation(op, is_post);
                }
            }
        }
        // Beside the event webhooks (if already described): the callback.
        let extensions = openapi.extensions.get_or_insert_with(Default::default);
        let hooks = extensions
            .entry("webhooks".to_string())
            .or_insert_with(|| json!({}));
        if let Some(map) = hooks.as_object_mut() {
            map.insert("callback".to_string(), callback_webhook());
        }
        let tags = openapi.tags.get_or_insert_with(Vec::new);
        tags.push(
            utoipa::openapi::tag::TagBuilder::new()
                .name("callbacks")
                .description(Some(
                    "What Punchcard sends to an API key's callback URL before an action made with \
                     the key is written",
                ))
                .build(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use punchcard_app::callbacks::{ActionKind, PendingAction};
    use punchcard_domain::time::Timestamp;
    use punchcard_domain::*;

    #[test]
    fn the_callback_schema_has_every_field_of_the_callback_body() {
        let action = PendingAction {
            id: PendingActionId::new(),
            kind: ActionKind::Coupon,
            env: Env::Prod,
            merchant_id: MerchantId::new(),
            api_key_id: ApiKeyId::new(),
            lead_id: Some(LeadId::new()),
            wallet_id: Some(WalletId::new()),
            currency_id: Some(CurrencyId::new()),
            deal_id: Some(DealId::new()),
            amount: Some(5),
            hash: Some("h".into()),
            mode: Some("redeem".into()),
            created_at: Timestamp::now(),
        };
        let body = serde_json::to_value(&action).unwrap();
        let mut sent: Vec<&String> = body.as_object().unwrap().keys().collect();
        sent.sort();
        let schema =
            serde_json::to_value(<CallbackAction as utoipa::PartialSchema>::schema()).unwrap();
        let mut documented: Vec<&String> =
            schema["properties"].as_object().unwrap().keys().collect();
        documented.sort();
        assert_eq!(sent, documented);
    }

    #[test]
    fn summaries_are_one_short_line() {
        let (short, long) = split_summary("Writes a reward.\nThe balance changes.");
        assert_eq!(short, "Writes a reward");
        assert!(long.is_some());
        let (short, _) = split_summary("Creates a wallet (one per lead; at most 10): then more");
        assert_eq!(short, "Creates a wallet (one per lead; at most 10)");
        assert_eq!(split_summary("Lists leads").0, "Lists leads");
        assert_eq!(split_summary("Lists leads").1, None);
    }
}
