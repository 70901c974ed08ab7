//! Pre-action callbacks: before a reward, adjustment, redemption, coupon or swap made with a key
//! that has a callback URL, the pending action is POSTed, signed, to that URL; anything but a
//! 2xx answer in time rejects the action before anything is written.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use punchcard_domain::net::{is_private_ip, CallbackUrl};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    ApiKeyId, CurrencyId, DealId, Env, FieldError, LeadId, MerchantId, PendingActionId, WalletId,
};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::Serialize;

use crate::api_keys::ApiPrincipal;
use crate::{secrets, App, AppError, AppSettings};

/// How long a callback may take when the operator sets nothing else.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The header that carries the signature of a callback body.
pub const SIGNATURE_HEADER: &str = "Punchcard-Signature";

/// How long key creation waits for DNS when checking a callback host.
const CREATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// What the pending action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Reward,
    Adjust,
    Redeem,
    Coupon,
    Swap,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Reward => "reward",
            ActionKind::Adjust => "adjust",
            ActionKind::Redeem => "redeem",
            ActionKind::Coupon => "coupon",
            ActionKind::Swap => "swap",
        }
    }
}

/// The action about to be written, as the callback receives it (the JSON body). Fields that do
/// not apply to the action are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingAction {
    /// Unique per attempt (`act_…`): a retried request is a new attempt with a new id.
    pub id: PendingActionId,
    pub kind: ActionKind,
    pub env: Env,
    pub merchant_id: MerchantId,
    pub api_key_id: ApiKeyId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<LeadId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<WalletId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_id: Option<CurrencyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deal_id: Option<DealId>,
    /// Signed points (a negative adjustment is negative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// For coupons: `redeem` (paid with points) or `reward` (given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    pub created_at: Timestamp,
}

impl PendingAction {
    /// An action of `kind` by the key of `principal`, with a fresh id; set the optional fields
    /// with struct update syntax: `PendingAction { amount: Some(10), ..PendingAction::new(..) }`.
    pub fn new(kind: ActionKind, principal: &ApiPrincipal) -> Self {
        Self {
            id: PendingActionId::new(),
            kind,
            env: principal.env,
            merchant_id: principal.merchant_id.clone(),
            api_key_id: principal.key_id.clone(),
            lead_id: None,
            wallet_id: None,
            currency_id: None,
            deal_id: None,
            amount: None,
            hash: None,
            mode: None,
            created_at: Timestamp::now(),
        }
    }
}

/// Checks a callback URL and parses it: an http(s) URL with a host and no credentials; https in
/// prod; unless private callbacks are allowed, no private or loopback host, whether named
/// (`localhost`) or written as an address in any form the URL parser accepts
/// (`http://2130706433/` is 127.0.0.1). Names are checked again when they are resolved.
pub fn callback_target(
    url: &str,
    env: Env,
    allow_private: bool,
) -> Result<reqwest::Url, FieldError> {
    let checked = CallbackUrl::parse(url, allow_private)?;
    let err = |m: &str| FieldError::new("callback_url", m);
    let parsed = reqwest::Url::parse(checked.as_str()).map_err(|_| err("is not a valid URL"))?;
    if env == Env::Prod && parsed.scheme() != "https" {
        return Err(err("must use https in prod"));
    }
    let ip = match parsed.host() {
        None => return Err(err("must name a host")),
        Some(url::Host::Domain(_)) => None,
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    if !allow_private && ip.is_some_and(is_private_ip) {
        return Err(err("must not point at a private or loopback address"));
    }
    Ok(parsed)
}

/// At key creation: refuses a host name whose every address is private (it could never be
/// called). A name that does not resolve yet is accepted; every call resolves it again.
pub(crate) async fn check_callback_host(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<(), FieldError> {
    let (Some(url::Host::Domain(host)), false) = (url.host(), allow_private) else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(0);
    let lookup = tokio::net::lookup_host((host, port));
    if let Ok(Ok(addrs)) = tokio::time::timeout(CREATION_LOOKUP_TIMEOUT, lookup).await {
        if let Err(ResolveError::PrivateOnly) = keep_reachable(addrs.collect(), false) {
            return Err(FieldError::new(
                "callback_url",
                "must not resolve to a private or loopback address",
            ));
        }
    }
    Ok(())
}

/// Why a callback host cannot be connected to.
#[derive(Debug, thiserror::Error)]
enum ResolveError {
    #[error("the callback host resolves only to private or loopback addresses")]
    PrivateOnly,
    #[error("the callback host does not resolve")]
    Unresolved(#[source] std::io::Error),
}

/// The addresses a callback may connect to: all of them, or only public ones.
fn keep_reachable(
    addrs: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, ResolveError> {
    if allow_private {
        return Ok(addrs);
    }
    let had_any = !addrs.is_empty();
    let public: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| !is_private_ip(a.ip()))
        .collect();
    if public.is_empty() && had_any {
        return Err(ResolveError::PrivateOnly);
    }
    Ok(public)
}

/// Resolves callback hosts and drops private addresses at connection time, so a name that
/// changes its DNS answer after the key was created still cannot reach the internal network.
#[derive(Debug)]
struct CallbackResolver {
    allow_private: bool,
}

impl Resolve for CallbackResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(ResolveError::Unresolved)?
                .collect();
            let kept = keep_reachable(addrs, allow_private)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The one client of all callbacks: no redirects, no proxies, private addresses filtered.
pub(crate) fn build_client(settings: &AppSettings) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("punchcard/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve the host itself, out of reach of the address filter.
        .no_proxy()
        .connect_timeout(settings.callback_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .dns_resolver(Arc::new(CallbackResolver {
            allow_private: settings.allow_private_callbacks,
        }))
        .build()
        // Only TLS initialisation can fail here, and rustls with built-in roots does not.
        .expect("the callback HTTP client builds")
}

/// The first error of type `T` in a chain of sources.
fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The reason given to the API caller when the request itself failed.
fn failure_reason(e: &reqwest::Error, timeout: Duration) -> (&'static str, String) {
    if e.is_timeout() {
        return (
            "timeout",
            format!(
                "the callback did not answer within {}; the action was not made",
                seconds(timeout)
            ),
        );
    }
    if let Some(r) = find_source::<ResolveError>(e) {
        let outcome = match r {
            ResolveError::PrivateOnly => "refused",
            ResolveError::Unresolved(_) => "unresolved",
        };
        return (outcome, format!("{r}; the action was not made"));
    }
    if e.is_connect() {
        let why = find_source::<std::io::Error>(e)
            .map(|io| format!(" ({})", io.kind()))
            .unwrap_or_default();
        return (
            "unreachable",
            format!("the callback URL is unreachable{why}; the action was not made"),
        );
    }
    (
        "failed",
        "the callback request failed; the action was not made".to_string(),
    )
}

impl App {
    /// Asks the key's callback URL to approve `action`. Without a callback URL this is Ok at
    /// once. Otherwise the action is POSTed as JSON with a `Punchcard-Signature` header; a 2xx
    /// answer within the timeout approves it, and anything else (another status, a timeout, a
    /// connection error, a URL that is not allowed) is `AppError::CallbackRejected`. Call it
    /// before opening the write transaction, so that a rejection writes nothing.
    pub async fn confirm_action(
        &self,
        principal: &ApiPrincipal,
        action: &PendingAction,
    ) -> Result<(), AppError> {
        let Some(url) = principal.callback_url.as_deref() else {
            return Ok(());
        };
        let log_rejection = |outcome: &str, host: &str, elapsed: Duration, reason: &str| {
            tracing::warn!(
                merchant_id = %principal.merchant_id,
                env = %principal.env,
                key_id = %principal.key_id,
                action_id = %action.id,
                kind = action.kind.as_str(),
                host,
                outcome,
                duration_ms = elapsed.as_millis() as u64,
                reason,
                "callback rejected the action"
            );
        };
        let target =
            match callback_target(url, principal.env, self.settings.allow_private_callbacks) {
                Ok(target) => target,
                Err(e) => {
                    let reason = format!("the callback URL {}; the action was not made", e.message);
                    log_rejection("refused", "", Duration::ZERO, &reason);
                    return Err(AppError::CallbackRejected(reason));
                }
            };
        let host = target.host_str().unwrap_or_default().to_string();
        let body = serde_json::to_vec(action).map_err(AppError::internal)?;
        let signature =
            secrets::sign_callback(&principal.signing_secret, Timestamp::now().unix(), &body);
        let timeout = self.settings.callback_timeout;
        let started = Instant::now();
        let sent = self
            .callback_client
            .post(target)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        let elapsed = started.elapsed();
        match sent {
            Ok(res) if res.status().is_success() => {
                tracing::info!(
                    merchant_id = %principal.merchant_id,
                    env = %principal.env,
                    key_id = %principal.key_id,
                    action_id = %action.id,
                    kind = action.kind.as_str(),
                    host,
                    status = res.status().as_u16(),
                    duration_ms = elapsed.as_millis() as u64,
                    "callback approved the action"
                );
                Ok(())
            }
            Ok(res) => {
                let status = res.status().as_u16();
                let reason =
                    format!("the callback answered HTTP {status}; the action was declined");
                log_rejection(&status.to_string(), &host, elapsed, &reason);
                Err(AppError::CallbackRejected(reason))
            }
            Err(e) => {
                let (outcome, reason) = failure_reason(&e, timeout);
                log_rejection(outcome, &host, elapsed, &reason);
                Err(AppError::CallbackRejected(reason))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn principal(callback_url: Option<&str>, env: Env) -> ApiPrincipal {
        ApiPrincipal {
            merchant_id: MerchantId::new(),
            env,
            key_id: ApiKeyId::new(),
            callback_url: callback_url.map(str::to_string),
            signing_secret: "whsec_unit".to_string(),
            rate_limit_per_minute: 100,
        }
    }

    #[test]
    fn the_body_leaves_out_what_does_not_apply() {
        let p = principal(None, Env::Dev);
        let action = PendingAction {
            amount: Some(-5),
            hash: Some("h-1".to_string()),
            ..PendingAction::new(ActionKind::Adjust, &p)
        };
        let json = serde_json::to_value(&action).unwrap();
        let obj = json.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "amount",
                "api_key_id",
                "created_at",
                "env",
                "hash",
                "id",
                "kind",
                "merchant_id"
            ]
        );
        assert_eq!(json["kind"], "adjust");
        assert_eq!(json["env"], "dev");
        assert_eq!(json["amount"], -5);
        assert_eq!(json["merchant_id"], p.merchant_id.as_str());
        assert_eq!(json["api_key_id"], p.key_id.as_str());
        assert!(json["id"].as_str().unwrap().starts_with("act_"));
        assert_ne!(action.id, PendingAction::new(ActionKind::Adjust, &p).id);
    }

    #[test]
    fn targets_are_checked() {
        let ok = |u: &str, env, allow| callback_target(u, env, allow).map(|u| u.to_string());
        let msg = |u: &str, env, allow| callback_target(u, env, allow).unwrap_err().message;
        assert_eq!(
            ok("https://shop.example.com/hook", Env::Prod, false).unwrap(),
            "https://shop.example.com/hook"
        );
        assert!(ok("http://shop.example.com/hook", Env::Dev, false).is_ok());
        assert_eq!(
            msg("http://shop.example.com/hook", Env::Prod, false),
            "must use https in prod"
        );
        assert_eq!(
            msg("http://127.0.0.1:8080/hook", Env::Prod, true),
            "must use https in prod"
        );
        assert!(ok("http://127.0.0.1:8080/hook", Env::Dev, true).is_ok());
        // Addresses written in forms the plain parser does not recognise are still addresses.
        for sneaky in [
            "http://2130706433/hook",
            "http://0x7f.1/hook",
            "http://127.1/hook",
            "http://0/hook",
            "http://[::ffff:10.0.0.1]/hook",
            "http://[fe80::1]/hook",
        ] {
            assert_eq!(
                msg(sneaky, Env::Dev, false),
                "must not point at a private or loopback address",
                "{sneaky}"
            );
            assert!(ok(sneaky, Env::Dev, true).is_ok(), "{sneaky}");
        }
        assert!(ok("http://localhost:9/hook", Env::Dev, false).is_err());
        assert!(ok("ftp://shop.example.com", Env::Dev, false).is_err());
    }

    #[tokio::test]
    async fn the_resolver_drops_private_addresses() {
        let refused = CallbackResolver {
            allow_private: false,
        }
        .resolve(Name::from_str("localhost").unwrap())
        .await;
        let err = match refused {
            Ok(addrs) => panic!("localhost kept: {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        assert!(matches!(
            err.downcast_ref::<ResolveError>(),
            Some(ResolveError::PrivateOnly)
        ));
        let allowed = CallbackResolver {
            allow_private: true,
        }
        .resolve(Name::from_str("localhost").unwrap())
        .await
        .expect("localhost resolves");
        assert!(allowed.into_iter().all(|a| a.ip().is_loopback()));

        let public: SocketAddr = "93.184.215.14:0".parse().unwrap();
        let private: SocketAddr = "10.1.2.3:0".parse().unwrap();
        assert_eq!(
            keep_reachable(vec![private, public], false).unwrap(),
            vec![public]
        );
        assert_eq!(
            keep_reachable(vec![private, public], true).unwrap(),
            vec![private, public]
        );
        assert!(keep_reachable(Vec::new(), false).unwrap().is_empty());
    }

    #[tokio::test]
    async fn creation_refuses_names_of_private_hosts() {
        let local = callback_target("http://localhost:9/hook", Env::Dev, true).unwrap();
        assert_eq!(
            check_callback_host(&local, false)
                .await
                .unwrap_err()
                .message,
            "must not resolve to a private or loopback address"
        );
        assert!(check_callback_host(&local, true).await.is_ok());
        // A name that does not resolve (yet) is accepted: every call resolves it again.
        let unknown =
            callback_target("https://no-such-host.invalid/hook", Env::Prod, false).unwrap();
        assert!(check_callback_host(&unknown, false).await.is_ok());
    }

    #[tokio::test]
    async fn failures_are_told_apart() {
        // A name that resolves only to loopback: refused by the resolver, nothing connects.
        let strict = build_client(&AppSettings::default());
        let err = strict
            .post("http://localhost:9/hook")
            .send()
            .await
            .unwrap_err();
        let (outcome, reason) = failure_reason(&err, DEFAULT_TIMEOUT);
        assert_eq!(outcome, "refused", "{err:?}");
        assert_eq!(
            reason,
            "the callback host resolves only to private or loopback addresses; the action was not made"
        );
        // With private callbacks allowed, loopback is reached, here on a closed port.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let open = build_client(&AppSettings {
            allow_private_callbacks: true,
            ..AppSettings::default()
        });
        let err = open
            .post(format!("http://127.0.0.1:{closed}/hook"))
            .send()
            .await
            .unwrap_err();
        let (outcome, reason) = failure_reason(&err, DEFAULT_TIMEOUT);
        assert_eq!(outcome, "unreachable", "{err:?}");
        assert_eq!(
            reason,
            "the callback URL is unreachable (connection refused); the action was not made"
        );
        let err = open
            .post("http://no-such-host.invalid/hook")
            .send()
            .await
            .unwrap_err();
        let (outcome, reason) = failure_reason(&err, DEFAULT_TIMEOUT);
        assert_eq!(outcome, "unresolved", "{err:?}");
        assert!(
            reason.starts_with("the callback host does not resolve"),
            "{reason}"
        );
    }
}
