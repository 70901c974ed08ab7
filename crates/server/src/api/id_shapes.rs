//! The shape of every id in the OpenAPI document: a path `{id}`, an `…_id` field or query
//! parameter and the items of an `…_ids` list are declared as their kind's prefix and 26
//! base-32 characters (`lead_01jd3x1m2n3p4q5r6s7t8v9w0x`), from the domain's prefixes.

use punchcard_domain::{
    ApiKeyId, CampaignId, CouponCodeId, CouponId, CurrencyId, DealId, IntegrationId, InteractionId,
    LeadId, MerchantId, MessageId, OfferId, StoreId, SwapContractId, SwapId, UploadId, VaultId,
    WalletId, WalletTransactionId, WebhookDeliveryId, WebhookEndpointId,
};
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::Modify;

/// Declares the shape of every id (fields and parameters named after their kind).
pub struct IdShapes;

/// The prefix of an id named `name` (`lead_id`, `store_ids`), if it names a kind.
fn prefix_of_field(name: &str) -> Option<&'static str> {
    let kind = name
        .strip_suffix("_ids")
        .or_else(|| name.strip_suffix("_id"))?;
    Some(match kind {
        "lead" | "to_lead" => LeadId::PREFIX,
        "wallet" | "from_wallet" | "to_wallet" => WalletId::PREFIX,
        "wallet_transaction" => WalletTransactionId::PREFIX,
        "currency" | "partner_currency" => CurrencyId::PREFIX,
        "deal" => DealId::PREFIX,
        "offer" => OfferId::PREFIX,
        "store" => StoreId::PREFIX,
        "coupon" => CouponId::PREFIX,
        "code" => CouponCodeId::PREFIX,
        "image" => UploadId::PREFIX,
        "campaign" | "task" | "surprise" => CampaignId::PREFIX,
        "interaction" => InteractionId::PREFIX,
        "authorized_key" => ApiKeyId::PREFIX,
        "vault" => VaultId::PREFIX,
        "integration" => IntegrationId::PREFIX,
        "partner_merchant" | "merchant" | "to_merchant" => MerchantId::PREFIX,
        "contract" => SwapContractId::PREFIX,
        "endpoint" => WebhookEndpointId::PREFIX,
        "message" => MessageId::PREFIX,
        _ => return None,
    })
}

/// The prefix of the `{id}` of a path, from its collection (`/api/v1/leads/{id}`).
pub fn prefix_of_collection(collection: &str) -> Option<&'static str> {
    Some(match collection {
        "leads" => LeadId::PREFIX,
        "wallets" => WalletId::PREFIX,
        "wallet_transactions" => WalletTransactionId::PREFIX,
        "currencies" => CurrencyId::PREFIX,
        "deals" => DealId::PREFIX,
        "offers" => OfferId::PREFIX,
        "stores" => StoreId::PREFIX,
        "coupons" => CouponId::PREFIX,
        "coupon_codes" => CouponCodeId::PREFIX,
        "rules" | "campaigns" | "tasks" | "surprises" | "voucher_campaigns" => CampaignId::PREFIX,
        "vaults" => VaultId::PREFIX,
        "swap_contracts" => SwapContractId::PREFIX,
        "swaps" => SwapId::PREFIX,
        "webhook_endpoints" => WebhookEndpointId::PREFIX,
        "webhook_deliveries" => WebhookDeliveryId::PREFIX,
        "messages" => MessageId::PREFIX,
        _ => return None,
    })
}

/// The pattern of an id of a kind: its prefix, `_` and a lower-case ULID.
pub fn id_pattern(prefix: &str) -> String {
    format!("^{prefix}_[0-9a-hjkmnp-tv-z]{{26}}$")
}

fn shape(schema: &mut RefOr<Schema>, prefix: &str) {
    match schema {
        RefOr::T(Schema::Object(o)) => {
            o.pattern = Some(id_pattern(prefix));
        }
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                shape(items, prefix);
            }
        }
        _ => {}
    }
}

impl Modify for IdShapes {
    fn modify(&self, openapi: &mut OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            for schema in components.schemas.values_mut() {
                if let RefOr::T(Schema::Object(o)) = schema {
                    for (name, property) in o.properties.iter_mut() {
                        if let Some(prefix) = prefix_of_field(name) {
                            shape(property, prefix);
                        }
                    }
                }
            }
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let collection = path.split('/').nth(3).unwrap_or("");
            for op in [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                for p in op.parameters.iter_mut().flatten() {
                    let prefix = match p.parameter_in {
                        ParameterIn::Path if p.name == "id" => prefix_of_collection(collection),
                        ParameterIn::Path | ParameterIn::Query => prefix_of_field(&p.name),
                        _ => None,
                    };
                    if let (Some(prefix), Some(schema)) = (prefix, p.schema.as_mut()) {
                        shape(schema, prefix);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_ids_of_their_kind_only() {
        let lead = LeadId::new();
        assert_eq!(prefix_of_field("lead_id"), Some("lead"));
        assert_eq!(prefix_of_field("store_ids"), Some("store"));
        assert_eq!(prefix_of_field("image_id"), Some("upl"));
        assert_eq!(prefix_of_field("customer_id"), None);
        let pattern = id_pattern(LeadId::PREFIX);
        let body = pattern
            .strip_prefix("^lead_[0-9a-hjkmnp-tv-z]{")
            .expect("prefix");
        assert_eq!(body, "26}$");
        let rest = lead.as_str().strip_prefix("lead_").unwrap();
        assert_eq!(rest.len(), 26);
        assert!(rest
            .chars()
            .all(|c| c.is_ascii_digit() || (c.is_ascii_lowercase() && !"ilou".contains(c))));
    }
}
