//! Prefixed, sortable identifiers (`mer_01j…`): a ULID behind a type-specific prefix.

use crate::error::FieldError;

/// A fresh ULID, strictly increasing within this process: two ids made in the same
/// millisecond still sort in the order they were made, so lists ordered by id are in creation
/// order (within one server).
pub fn next_ulid() -> ulid::Ulid {
    use std::sync::Mutex;
    static GENERATOR: Mutex<Option<ulid::Generator>> = Mutex::new(None);
    let mut guard = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let generator = guard.get_or_insert_with(ulid::Generator::new);
    // Overflow needs 2^80 ids in one millisecond; fall back to a plain ULID all the same.
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh identifier.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(format!("{}_{}", $prefix, next_ulid().to_string().to_ascii_lowercase()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Reads an identifier back from the store, where it was written valid.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }
        }

        impl std::str::FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                // Spaces around a typed id are forgiven; control characters (a NUL, a line
                // break) never are.
                if s.chars().any(char::is_control) {
                    return Err(FieldError::new("id", "is not a valid identifier"));
                }
                let s = s.trim();
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or_else(|| FieldError::new("id", concat!("must start with `", $prefix, "_`")))?;
                if rest.len() != 26 || ulid::Ulid::from_string(rest).is_err() {
                    return Err(FieldError::new("id", "is not a valid identifier"));
                }
                Ok(Self(format!("{}_{}", $prefix, rest.to_ascii_lowercase())))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(/// A merchant (tenant).
    MerchantId, "mer");
prefixed_id!(/// A person who signs in to a merchant's dashboard.
    MemberId, "mem");
prefixed_id!(/// A merchant's currency.
    CurrencyId, "cur");
prefixed_id!(/// An API key; its id is the Basic-auth username.
    ApiKeyId, "key");
prefixed_id!(/// An action sent to an API key's callback URL for approval before it is written.
    PendingActionId, "act");
prefixed_id!(/// A dashboard session.
    SessionId, "ses");
prefixed_id!(/// A pending one-time-password challenge.
    ChallengeId, "otp");
prefixed_id!(/// A recorded dashboard login.
    LoginActivityId, "login");
prefixed_id!(/// An allowed IP entry.
    AllowedIpId, "aip");
prefixed_id!(/// A notification shown in the dashboard.
    NotificationId, "ntf");
prefixed_id!(/// An uploaded file.
    UploadId, "upl");
prefixed_id!(/// An invitation to join a merchant.
    InvitationId, "inv");
prefixed_id!(/// A request to reset a member's password by an emailed link.
    PasswordResetId, "pwr");
prefixed_id!(/// A lead: one of the merchant's customers.
    LeadId, "lead");
prefixed_id!(/// A lead's wallet in one currency.
    WalletId, "wal");
prefixed_id!(/// A wallet transaction (append-only ledger entry).
    WalletTransactionId, "wtx");
prefixed_id!(/// A deal of the catalog.
    DealId, "deal");
prefixed_id!(/// An offer (public promo code).
    OfferId, "offer");
prefixed_id!(/// A store of the merchant.
    StoreId, "store");
prefixed_id!(/// A coupon code in a deal's vault.
    CouponCodeId, "code");
prefixed_id!(/// A coupon: a code issued to a lead.
    CouponId, "cpn");
prefixed_id!(/// A campaign of any kind (task, surprise, rule, voucher campaign).
    CampaignId, "cmp");
prefixed_id!(/// One trigger of a campaign, whatever its outcome.
    InteractionId, "cmi");
prefixed_id!(/// A standalone vault: one vendor's vouchers of one amount, test or live.
    VaultId, "vlt");
prefixed_id!(/// An integration: the credentials another application awards vouchers with.
    IntegrationId, "int");
prefixed_id!(/// A swap contract between two merchants' currencies.
    SwapContractId, "swc");
prefixed_id!(/// A swap: points moved from one lead's wallet to another lead's.
    SwapId, "swp");
prefixed_id!(/// A fixed number of points staff may give at the counter.
    PointGrantId, "pgr");
prefixed_id!(/// A code displayed at the counter for a lead to claim once.
    CounterClaimId, "clm");
prefixed_id!(/// A message or promo sent to a merchant's leads.
    MessageId, "mes");
prefixed_id!(/// One thing done at the counter (a coupon used, points given, a claim, a join).
    CounterActionId, "cta");
prefixed_id!(/// A merchant's webhook endpoint: a URL and the events it wants.
    WebhookEndpointId, "whe");
prefixed_id!(/// One event's delivery to one endpoint; also the `webhook-id` the receiver sees.
    WebhookDeliveryId, "msg");
prefixed_id!(/// A job of the background queue.
    JobId, "job");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_in_a_row_sort_in_order() {
        let ids: Vec<MerchantId> = (0..1000).map(|_| MerchantId::new()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn ids_round_trip_and_reject_wrong_prefix() {
        let id = MerchantId::new();
        assert!(id.as_str().starts_with("mer_"));
        let parsed: MerchantId = id.as_str().parse().unwrap();
        assert_eq!(parsed, id);
        assert!(id
            .as_str()
            .replace("mer_", "cur_")
            .parse::<MerchantId>()
            .is_err());
        assert!("mer_short".parse::<MerchantId>().is_err());
        assert_eq!(
            format!(" {id} ").parse::<MerchantId>().unwrap(),
            id,
            "spaces are trimmed"
        );
        for bad in [format!("{id}\n"), format!("{id}\0"), format!("\t{id}")] {
            assert!(bad.parse::<MerchantId>().is_err(), "{bad:?}");
        }
        assert!("".parse::<MerchantId>().is_err());
    }
}
