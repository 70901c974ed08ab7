//! Pre-action callbacks against a real HTTP listener: a 2xx approves and the body carries a
//! signature that verifies with the key's signing secret; any other answer, a slow answer, an
//! unreachable port, a private address (unless allowed) and http in prod reject the action.

use punchcard_app::deals::Deals;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{Backend, TestApp};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use punchcard_app::api_keys::ApiPrincipal;
use punchcard_app::callbacks::{ActionKind, PendingAction};
use punchcard_app::secrets::verify_callback_signature;
use punchcard_app::AppError;
use punchcard_domain::{CurrencyId, Env, LeadId, MerchantId, WalletId};

/// One request the listener received.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Hit>>>);

impl Received {
    fn all(&self) -> Vec<Hit> {
        self.0.lock().unwrap().clone()
    }
}

/// The merchant's side: answers by path and records every request.
async fn merchant_endpoint(
    State(received): State<Received>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    received.0.lock().unwrap().push(Hit {
        path: uri.path().to_string(),
        headers,
        body,
    });
    match uri.path() {
        "/ok" => StatusCode::OK.into_response(),
        "/accepted" => StatusCode::ACCEPTED.into_response(),
        "/declined" => (StatusCode::FORBIDDEN, "no").into_response(),
        "/broken" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            StatusCode::OK.into_response()
        }
        "/redirect" => {
            (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, "/ok")]).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A listener on 127.0.0.1:0; answers its address and what it receives.
async fn listener() -> (SocketAddr, Received) {
    let received = Received::default();
    let router = Router::new()
        .fallback(merchant_endpoint)
        .with_state(received.clone());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(socket, router).await.unwrap();
    });
    (addr, received)
}

/// A TestApp with private callbacks allowed or not and a callback timeout.
async fn start(backend: Backend, allow_private: bool, timeout: Duration) -> Option<TestApp> {
    TestApp::start(backend, |c| {
        c.allow_private_callbacks = allow_private;
        c.callback_timeout = timeout;
    })
    .await
}

/// Creates a key with a callback URL and authenticates it, as an API request would.
async fn principal_with(
    t: &TestApp,
    merchant: &MerchantId,
    env: Env,
    callback: Option<&str>,
) -> (ApiPrincipal, String) {
    let created = t
        .app
        .create_api_key(merchant, env, "hooked", callback)
        .await
        .expect("key created");
    let principal = t
        .app
        .authenticate_api_key(created.id.as_str(), &created.secret)
        .await
        .expect("key authenticates");
    (principal, created.signing_secret)
}

fn reward(principal: &ApiPrincipal) -> PendingAction {
    PendingAction {
        lead_id: Some(LeadId::new()),
        wallet_id: Some(WalletId::new()),
        currency_id: Some(CurrencyId::new()),
        amount: Some(25),
        hash: Some("order-1001".to_string()),
        ..PendingAction::new(ActionKind::Reward, principal)
    }
}

fn rejection(result: Result<(), AppError>) -> String {
    match result {
        Err(AppError::CallbackRejected(reason)) => reason,
        other => panic!("expected callback_rejected, got {other:?}"),
    }
}

fn field_error(result: Result<punchcard_app::api_keys::CreatedApiKey, AppError>) -> String {
    match result {
        Err(AppError::Validation(v)) => {
            assert_eq!(v.0.len(), 1, "{v:?}");
            assert_eq!(v.0[0].field, "callback_url");
            v.0[0].message.clone()
        }
        other => panic!("expected a callback_url field error, got {other:?}"),
    }
}

async fn an_approved_action_arrives_signed(backend: Backend) {
    let Some(t) = start(backend, true, Duration::from_secs(5)).await else {
        return;
    };
    let (addr, received) = listener().await;
    let m = t.active_merchant("Acme").await;
    let url = format!("http://{addr}/ok");
    let (principal, signing_secret) = principal_with(&t, &m, Env::Dev, Some(&url)).await;
    assert_eq!(principal.callback_url.as_deref(), Some(url.as_str()));

    let action = reward(&principal);
    t.app.confirm_action(&principal, &action).await.unwrap();

    let hits = received.all();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.path, "/ok");
    assert_eq!(hit.headers[header::CONTENT_TYPE], "application/json");
    let agent = hit.headers[header::USER_AGENT].to_str().unwrap();
    assert_eq!(agent, format!("punchcard/{}", env!("CARGO_PKG_VERSION")));
    // The body is the action, with the fields that do not apply left out.
    let body: serde_json::Value = serde_json::from_slice(&hit.body).unwrap();
    assert_eq!(body, serde_json::to_value(&action).unwrap());
    assert_eq!(body["kind"], "reward");
    assert_eq!(body["env"], "dev");
    assert_eq!(body["merchant_id"], m.as_str());
    assert_eq!(body["api_key_id"], principal.key_id.as_str());
    assert_eq!(body["amount"], 25);
    assert_eq!(body["hash"], "order-1001");
    assert!(body.get("deal_id").is_none() && body.get("mode").is_none());

    // The signature verifies over the raw body with the key's signing secret, and only so.
    let signature = hit.headers["punchcard-signature"].to_str().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let tolerance = Duration::from_secs(300);
    verify_callback_signature(&signing_secret, signature, &hit.body, now, tolerance)
        .expect("the signature verifies");
    let t_part: i64 = signature
        .strip_prefix("t=")
        .and_then(|r| r.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((now - t_part).abs() <= 5);
    assert!(
        verify_callback_signature("whsec_wrong", signature, &hit.body, now, tolerance).is_err()
    );
    let mut tampered = hit.body.to_vec();
    tampered.extend_from_slice(b" ");
    assert!(
        verify_callback_signature(&signing_secret, signature, &tampered, now, tolerance).is_err()
    );

    // Any 2xx approves.
    let accepted = format!("http://{addr}/accepted");
    let (principal, _) = principal_with(&t, &m, Env::Dev, Some(&accepted)).await;
    let coupon = PendingAction {
        deal_id: Some(punchcard_domain::DealId::new()),
        mode: Some("redeem".to_string()),
        ..PendingAction::new(ActionKind::Coupon, &principal)
    };
    t.app.confirm_action(&principal, &coupon).await.unwrap();
    let hits = received.all();
    assert_eq!(hits.len(), 2);
    let body: serde_json::Value = serde_json::from_slice(&hits[1].body).unwrap();
    assert_eq!(body["kind"], "coupon");
    assert_eq!(body["mode"], "redeem");
    assert_ne!(body["id"], serde_json::to_value(&action.id).unwrap());
    t.stop().await;
}

async fn other_answers_timeouts_and_dead_ports_reject(backend: Backend) {
    let Some(t) = start(backend, true, Duration::from_millis(400)).await else {
        return;
    };
    let (addr, received) = listener().await;
    // One merchant per case: dev allows 5 keys.

    for (path, expected) in [
        ("/declined", "answered HTTP 403"),
        ("/broken", "answered HTTP 500"),
        ("/missing", "answered HTTP 404"),
        // Redirects are not followed: the answer itself is not a 2xx.
        ("/redirect", "answered HTTP 307"),
    ] {
        let url = format!("http://{addr}{path}");
        let m = t.active_merchant(path).await;
        let (principal, _) = principal_with(&t, &m, Env::Dev, Some(&url)).await;
        let reason = rejection(t.app.confirm_action(&principal, &reward(&principal)).await);
        assert!(reason.contains(expected), "{path}: {reason}");
    }
    let paths: Vec<String> = received.all().into_iter().map(|h| h.path).collect();
    assert_eq!(paths, ["/declined", "/broken", "/missing", "/redirect"]);

    // Slower than the timeout.
    let url = format!("http://{addr}/slow");
    let m = t.active_merchant("Slow").await;
    let (principal, _) = principal_with(&t, &m, Env::Dev, Some(&url)).await;
    let started = Instant::now();
    let reason = rejection(t.app.confirm_action(&principal, &reward(&principal)).await);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up at the timeout"
    );
    assert!(reason.contains("did not answer within 0.4 s"), "{reason}");

    // Nothing listens on the port.
    let closed = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap()
    };
    let url = format!("http://{closed}/ok");
    let m = t.active_merchant("Closed").await;
    let (principal, _) = principal_with(&t, &m, Env::Dev, Some(&url)).await;
    let err = t
        .app
        .confirm_action(&principal, &reward(&principal))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "callback_rejected");
    let reason = rejection(Err(err));
    assert!(reason.contains("unreachable"), "{reason}");
    t.stop().await;
}

async fn private_addresses_are_refused_unless_allowed(backend: Backend) {
    let Some(t) = start(backend, false, Duration::from_secs(5)).await else {
        return;
    };
    let (addr, received) = listener().await;
    let port = addr.port();
    let m = t.active_merchant("Acme").await;
    let private = [
        format!("http://127.0.0.1:{port}/ok"),
        format!("http://localhost:{port}/ok"),
        format!("http://[::1]:{port}/ok"),
        // Another spelling of 127.0.0.1 that the URL parser accepts.
        format!("http://2130706433:{port}/ok"),
        format!("http://10.0.0.8:{port}/ok"),
        format!("http://169.254.169.254:{port}/ok"),
    ];
    for url in &private {
        let message = field_error(t.app.create_api_key(&m, Env::Dev, "hook", Some(url)).await);
        assert!(message.contains("private or loopback"), "{url}: {message}");
    }

    // A key stored while private callbacks were allowed is still refused when called now.
    let (keyless, _) = principal_with(&t, &m, Env::Dev, None).await;
    for url in &private {
        let principal = ApiPrincipal {
            callback_url: Some(url.clone()),
            ..keyless.clone()
        };
        let reason = rejection(t.app.confirm_action(&principal, &reward(&principal)).await);
        assert!(reason.contains("private or loopback"), "{url}: {reason}");
    }
    assert!(received.all().is_empty(), "no request left the server");
    t.stop().await;
}

async fn prod_keys_need_https(backend: Backend) {
    let Some(t) = start(backend, true, Duration::from_secs(5)).await else {
        return;
    };
    let (addr, received) = listener().await;
    let m = t.active_merchant("Acme").await;
    let http = format!("http://{addr}/ok");
    let message = field_error(
        t.app
            .create_api_key(&m, Env::Prod, "hook", Some(&http))
            .await,
    );
    assert_eq!(message, "must use https in prod");
    // The same URL is fine in dev, and https is fine in prod.
    principal_with(&t, &m, Env::Dev, Some(&http)).await;
    let (prod, _) = principal_with(
        &t,
        &m,
        Env::Prod,
        Some("https://hooks.shop.example/approve"),
    )
    .await;

    let principal = ApiPrincipal {
        callback_url: Some(http.clone()),
        ..prod
    };
    let reason = rejection(t.app.confirm_action(&principal, &reward(&principal)).await);
    assert!(reason.contains("must use https in prod"), "{reason}");
    assert!(received.all().is_empty());
    t.stop().await;
}

async fn a_key_without_callback_calls_nothing(backend: Backend) {
    let Some(t) = start(backend, true, Duration::from_secs(5)).await else {
        return;
    };
    let (addr, received) = listener().await;
    let m = t.active_merchant("Acme").await;
    let (principal, _) = principal_with(&t, &m, Env::Dev, None).await;
    assert!(principal.callback_url.is_none());
    t.app
        .confirm_action(&principal, &reward(&principal))
        .await
        .unwrap();
    // A blank callback URL is no callback URL.
    let (principal, _) = principal_with(&t, &m, Env::Prod, Some("  ")).await;
    assert!(principal.callback_url.is_none());
    t.app
        .confirm_action(&principal, &reward(&principal))
        .await
        .unwrap();
    assert!(received.all().is_empty(), "nothing was called at {addr}");
    t.stop().await;
}

/// Rewards and coupons made through the API wait for the callback: a refusal writes nothing,
/// an approval goes ahead, and a replay of the same hash calls nothing again.
async fn api_actions_wait_for_the_callback(backend: Backend) {
    use punchcard_app::ledger::{NewLead, Scope};
    let Some(t) = start(backend, true, Duration::from_secs(5)).await else {
        return;
    };
    let (addr, received) = listener().await;
    let m = t.active_merchant("Acme").await;
    let scope = Scope::new(&m, Env::Dev);
    let currency = t.app.list_currencies(&m, None, 1).await.unwrap()[0]
        .id
        .clone();
    let lead = t
        .app
        .create_lead(
            &scope,
            NewLead {
                customer_id: "cust-0001".into(),
                email: Some("a@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let wallet = t
        .app
        .create_wallet(&scope, lead.id.as_str(), currency.as_str())
        .await
        .unwrap();
    let deal = t
        .app
        .create_item::<Deals>(
            &m,
            Env::Dev,
            &punchcard_app::deals::DealDraft {
                name: "Coffee".into(),
                description: "A coffee".into(),
                kind: "voucher".into(),
                sell_price: "5".into(),
                available: true,
                visibility: "private".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    t.app
        .create_code(&scope, deal.row.id.as_str(), None, "ONE")
        .await
        .unwrap();
    let key_with = |path: &'static str| {
        let (t, m) = (&t, &m);
        async move {
            let k = t
                .app
                .create_api_key(m, Env::Dev, "hooked", Some(&format!("http://{addr}{path}")))
                .await
                .unwrap();
            (k.id.to_string(), k.secret)
        }
    };
    let declined = key_with("/declined").await;
    let approved = key_with("/ok").await;
    let reward =
        serde_json::json!({"wallet_id": wallet.id, "kind": "reward", "amount": 20, "hash": "r-1"});

    let res = t
        .api(&declined)
        .post("/api/v1/wallet_transactions", reward.clone())
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json()["code"], "callback_rejected");
    assert_eq!(
        t.app
            .wallet(&scope, wallet.id.as_str())
            .await
            .unwrap()
            .balance,
        0
    );
    assert!(t
        .app
        .list_transactions(&scope, &Default::default(), None, 10, false)
        .await
        .unwrap()
        .is_empty());

    let res = t
        .api(&approved)
        .post("/api/v1/wallet_transactions", reward.clone())
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        t.app
            .wallet(&scope, wallet.id.as_str())
            .await
            .unwrap()
            .balance,
        20
    );
    let hits = received.all();
    let sent: serde_json::Value = serde_json::from_slice(&hits.last().unwrap().body).unwrap();
    assert_eq!(sent["kind"], "reward");
    assert_eq!(sent["hash"], "r-1");
    assert_eq!(sent["amount"], 20);
    assert_eq!(sent["wallet_id"], wallet.id.as_str());
    let calls = hits.len();
    let res = t
        .api(&approved)
        .post("/api/v1/wallet_transactions", reward)
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(received.all().len(), calls, "a replay calls nothing");

    let coupon = serde_json::json!({"deal_id": deal.row.id, "lead_id": lead.id,
                                    "currency_id": currency, "hash": "c-1"});
    let res = t
        .api(&declined)
        .post("/api/v1/coupons", coupon.clone())
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        t.app
            .wallet(&scope, wallet.id.as_str())
            .await
            .unwrap()
            .balance,
        20
    );
    assert_eq!(
        t.app
            .stock(&scope, deal.row.id.as_str())
            .await
            .unwrap()
            .unique_available,
        1,
        "no code was taken"
    );
    let res = t.api(&approved).post("/api/v1/coupons", coupon).await;
    assert_eq!(res.status(), 201);
    let sent: serde_json::Value =
        serde_json::from_slice(&received.all().last().unwrap().body).unwrap();
    assert_eq!(sent["kind"], "coupon");
    assert_eq!(sent["mode"], "redeem");
    assert_eq!(sent["deal_id"], deal.row.id.as_str());
    assert_eq!(sent["amount"], -5);
    assert_eq!(
        t.app
            .wallet(&scope, wallet.id.as_str())
            .await
            .unwrap()
            .balance,
        15
    );
    t.stop().await;
}

macro_rules! on_both_backends_configured {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends_configured!(
    an_approved_action_arrives_signed,
    other_answers_timeouts_and_dead_ports_reject,
    private_addresses_are_refused_unless_allowed,
    prod_keys_need_https,
    a_key_without_callback_calls_nothing,
    api_actions_wait_for_the_callback,
);
