//! Tenant isolation over every API endpoint: a key of another merchant, or of the same merchant
//! in the other environment, gets 404 for foreign ids and never sees foreign rows in lists.
//!
//! Adding an endpoint is one line in `ENDPOINTS`:
//!
//! ```text
//! ep("GET", "/api/v1/leads/{id}", Scope::Env, new_lead),
//! ```
//!
//! - the method and path; `{id}` is replaced by what the setup function returns. A path with
//!   `{id}` must answer 404 `not_found` to every foreign key and 2xx to the owner; other
//!   methods than GET are sent with the JSON body `{}`, foreign keys first, the owner last. A
//!   path without `{id}` (a list, or the quota) must show the setup's value to the owner and
//!   never to a foreign key.
//! - the scope: `Scope::Env` for records of one environment (leads, wallets, deals, …);
//!   `Scope::Merchant` for what both environments of a merchant share by design (currencies,
//!   the plan), which the other env of the same merchant does see.
//! - the setup function: `fn(&TestApp, &MerchantId, Env) -> Setup<'_>`, which creates one
//!   resource for the merchant in that env and returns its id (for something without an id,
//!   a value only that merchant's answer can contain). Write it next to the others below.
//!
//! Every endpoint is checked for a resource made in dev and one made in prod.

mod common;

use std::future::Future;
use std::pin::Pin;

use common::TestApp;
use punchcard_app::plans::PlanChange;
use punchcard_domain::{Env, MerchantId};
use serde_json::Value;

/// What a resource's data is shared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// One environment of one merchant.
    Env,
    /// Both environments of one merchant.
    Merchant,
}

type Setup<'a> = Pin<Box<dyn Future<Output = String> + 'a>>;
type SetupFn = for<'a> fn(&'a TestApp, &'a MerchantId, Env) -> Setup<'a>;

struct Endpoint {
    method: &'static str,
    path: &'static str,
    scope: Scope,
    setup: SetupFn,
}

const fn ep(method: &'static str, path: &'static str, scope: Scope, setup: SetupFn) -> Endpoint {
    Endpoint {
        method,
        path,
        scope,
        setup,
    }
}

/// Every API endpoint, one line each.
const ENDPOINTS: &[Endpoint] = &[
    ep("GET", "/api/v1/currencies", Scope::Merchant, new_currency),
    ep("GET", "/api/v1/quota", Scope::Merchant, distinctive_plan),
];

// ---- Setup functions: create something for `m` in `env`, answer its id ---------------------

fn new_currency<'a>(t: &'a TestApp, m: &'a MerchantId, _env: Env) -> Setup<'a> {
    Box::pin(async move {
        let code = format!("C{}", &ulid::Ulid::new().to_string()[17..]);
        t.app
            .create_currency(m, &code, "Isolated", "1")
            .await
            .expect("currency created")
            .id
            .to_string()
    })
}

/// The plan (and so the quota answer) is per merchant: a lead quota no one else has.
fn distinctive_plan<'a>(t: &'a TestApp, m: &'a MerchantId, _env: Env) -> Setup<'a> {
    Box::pin(async move {
        let leads = 7_000_000 + i64::from(rand::random::<u16>()) * 100 + 17;
        t.app
            .set_plan(
                m,
                PlanChange {
                    leads: Some(leads),
                    ..Default::default()
                },
            )
            .await
            .expect("plan set");
        leads.to_string()
    })
}

// ---- The check ----------------------------------------------------------------------------

type Key = (String, String);

struct Caller {
    who: &'static str,
    key: Key,
    /// Whether this caller may see what the owner made.
    sees: bool,
}

async fn call(t: &TestApp, method: &str, path: &str, key: &Key) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
    let mut req = t
        .client
        .request(method.clone(), t.url(path))
        .basic_auth(&key.0, Some(&key.1));
    if method != reqwest::Method::GET {
        req = req.header("content-type", "application/json").body("{}");
    }
    req.send().await.expect("request sent")
}

async fn check(t: &TestApp, e: &Endpoint, value: &str, owner: &Key, others: &[Caller]) {
    let label = format!("{} {}", e.method, e.path);
    if e.path.contains("{id}") {
        let path = e.path.replace("{id}", value);
        for c in others.iter().filter(|c| !c.sees) {
            let res = call(t, e.method, &path, &c.key).await;
            assert_eq!(res.status(), 404, "{label}: {} must get 404", c.who);
            let body: Value = res.json().await.expect("problem body");
            assert_eq!(body["code"], "not_found", "{label}: {}", c.who);
            assert!(!body.to_string().contains(value), "{label}: {}", c.who);
        }
        for c in others.iter().filter(|c| c.sees) {
            let res = call(t, e.method, &path, &c.key).await;
            assert!(res.status().is_success(), "{label}: {} shares it", c.who);
        }
        let res = call(t, e.method, &path, owner).await;
        assert!(
            res.status().is_success(),
            "{label}: the owner gets {}",
            res.status()
        );
    } else {
        let res = call(t, e.method, e.path, owner).await;
        assert_eq!(res.status(), 200, "{label}: owner");
        let text = res.text().await.unwrap();
        assert!(
            text.contains(value),
            "{label}: the owner sees {value}: {text}"
        );
        for c in others {
            let res = call(t, e.method, e.path, &c.key).await;
            assert_eq!(res.status(), 200, "{label}: {}", c.who);
            let text = res.text().await.unwrap();
            assert_eq!(
                text.contains(value),
                c.sees,
                "{label}: {} {} {value}: {text}",
                c.who,
                if c.sees { "must see" } else { "must not see" }
            );
        }
    }
}

fn other(env: Env) -> Env {
    match env {
        Env::Dev => Env::Prod,
        Env::Prod => Env::Dev,
    }
}

/// Runs the check of one endpoint for a resource made by merchant `a` in each env.
async fn check_endpoint(t: &TestApp, e: &Endpoint, a: &MerchantId, b: &MerchantId) {
    let (a_dev, a_prod) = (t.api_key(a, Env::Dev).await, t.api_key(a, Env::Prod).await);
    let (b_dev, b_prod) = (t.api_key(b, Env::Dev).await, t.api_key(b, Env::Prod).await);
    let key_of = |m: &MerchantId, env: Env| -> Key {
        match (m == a, env) {
            (true, Env::Dev) => a_dev.clone(),
            (true, Env::Prod) => a_prod.clone(),
            (false, Env::Dev) => b_dev.clone(),
            (false, Env::Prod) => b_prod.clone(),
        }
    };
    for env in [Env::Dev, Env::Prod] {
        let value = (e.setup)(t, a, env).await;
        let others = [
            Caller {
                who: "the same merchant's other env",
                key: key_of(a, other(env)),
                sees: e.scope == Scope::Merchant,
            },
            Caller {
                who: "another merchant, same env",
                key: key_of(b, env),
                sees: false,
            },
            Caller {
                who: "another merchant, other env",
                key: key_of(b, other(env)),
                sees: false,
            },
        ];
        check(t, e, &value, &key_of(a, env), &others).await;
    }
}

async fn no_key_sees_another_merchants_or_envs_data(t: TestApp) {
    let a = t.active_merchant("A").await;
    let b = t.active_merchant("B").await;
    for e in ENDPOINTS {
        check_endpoint(&t, e, &a, &b).await;
    }
    t.stop().await;
}

/// The check is not blind: currencies declared per env (they are shared) must fail it.
async fn the_check_catches_a_leak(t: TestApp) {
    use futures_util::FutureExt;
    let a = t.active_merchant("A").await;
    let b = t.active_merchant("B").await;
    let wrong = ep("GET", "/api/v1/currencies", Scope::Env, new_currency);
    let outcome = std::panic::AssertUnwindSafe(check_endpoint(&t, &wrong, &a, &b))
        .catch_unwind()
        .await;
    let message = outcome.expect_err("a resource seen by the other env is reported");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        text.contains("the same merchant's other env must not see"),
        "{text}"
    );
    t.stop().await;
}

/// The table names every API route the server serves (so a new endpoint cannot be forgotten).
async fn the_table_covers_every_api_route(t: TestApp) {
    let spec: Value = t
        .client
        .get(t.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.push(format!("{} {}", method.to_uppercase(), with_id(path)));
            }
        }
    }
    documented.sort();
    let mut listed: Vec<String> = ENDPOINTS
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    listed.sort();
    assert_eq!(listed, documented, "add the missing endpoints to ENDPOINTS");
    t.stop().await;
}

/// `/api/v1/leads/{lead_id}` -> `/api/v1/leads/{id}`: the table names every parameter `{id}`.
fn with_id(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "{id}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

on_both_backends!(
    no_key_sees_another_merchants_or_envs_data,
    the_check_catches_a_leak,
    the_table_covers_every_api_route,
);
