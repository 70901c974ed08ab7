//! The API as an integrator calls it: one client per API key, whose answers carry the status,
//! the headers and the JSON body, plus the assertions every area makes on them.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

use super::TestApp;

/// An API key: (key id, secret), sent as Basic credentials.
pub type Key = (String, String);

/// Calls the API with one key. Cheap to clone, and owned, so a concurrent test can move one
/// into each task.
#[derive(Clone)]
pub struct ApiClient {
    client: reqwest::Client,
    base: String,
    key: Key,
}

impl TestApp {
    /// GETs a path without credentials (health, the OpenAPI document).
    pub async fn get_json(&self, path: &str) -> ApiResponse {
        ApiResponse::read(self.client.get(self.url(path))).await
    }

    /// The API as the holder of `key` calls it.
    pub fn api(&self, key: &Key) -> ApiClient {
        ApiClient {
            client: self.client.clone(),
            base: self.base.clone(),
            key: key.clone(),
        }
    }
}

impl ApiClient {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An authenticated request to add headers or a body of one's own to.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(&self.key.0, Some(&self.key.1))
    }

    pub async fn get(&self, path: &str) -> ApiResponse {
        ApiResponse::read(self.request(Method::GET, path)).await
    }

    /// GETs an answer that is not JSON (an image): the response as it came.
    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, body: Value) -> ApiResponse {
        ApiResponse::read(self.request(Method::POST, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> ApiResponse {
        ApiResponse::read(self.request(Method::PATCH, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> ApiResponse {
        ApiResponse::read(self.request(Method::DELETE, path)).await
    }

    /// POSTs a multipart form (an upload).
    pub async fn upload(&self, path: &str, form: reqwest::multipart::Form) -> ApiResponse {
        let req = self
            .request(Method::POST, path)
            // A refused upload may not be read to its end: never reuse the connection.
            .header("connection", "close")
            .multipart(form);
        ApiResponse::read(req).await
    }

    /// POSTs and expects 201; answers the created resource.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        self.post(path, body).await.expect(201)
    }

    /// GETs and expects 200; answers the body.
    pub async fn get_ok(&self, path: &str) -> Value {
        self.get(path).await.expect(200)
    }

    /// A lead for `customer_id` with an empty wallet in `currency`; answers (lead, wallet).
    pub async fn lead_with_wallet(&self, customer_id: &str, currency: &str) -> (String, String) {
        let lead = self
            .create(
                "/api/v1/leads",
                serde_json::json!({"customer_id": customer_id,
                                   "email": format!("{customer_id}@example.com")}),
            )
            .await;
        let wallet = self
            .create(
                "/api/v1/wallets",
                serde_json::json!({"lead_id": lead["id"], "currency_id": currency}),
            )
            .await;
        assert_eq!(wallet["balance"], 0);
        (id_of(&lead), id_of(&wallet))
    }

    /// The balance of a wallet.
    pub async fn balance(&self, wallet: &str) -> i64 {
        self.get_ok(&format!("/api/v1/wallets/{wallet}")).await["balance"]
            .as_i64()
            .expect("a balance")
    }
}

/// The `id` of a resource.
pub fn id_of(resource: &Value) -> String {
    resource["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {resource}"))
        .to_string()
}

/// The ids of a list answer's `data`, in order.
pub fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Sends a request built by hand (odd credentials, extra headers) and reads its answer.
pub trait ReadAnswer {
    fn read(self) -> impl std::future::Future<Output = ApiResponse> + Send;
}

impl ReadAnswer for RequestBuilder {
    fn read(self) -> impl std::future::Future<Output = ApiResponse> + Send {
        ApiResponse::read(self)
    }
}

/// An API answer, read whole: status, headers and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct ApiResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl ApiResponse {
    /// Sends a request and reads its answer, which must be JSON or empty.
    pub async fn read(req: RequestBuilder) -> ApiResponse {
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("answer {status} is not JSON ({e}): {text}"))
        };
        ApiResponse {
            status,
            headers,
            body,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    pub fn json(&self) -> &Value {
        &self.body
    }

    pub fn into_json(self) -> Value {
        self.body
    }

    /// Asserts the status (showing the body when it differs); answers the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.body
    }

    /// Asserts a problem+json answer with this status and stable code; answers the body.
    #[track_caller]
    pub fn assert_problem(self, status: u16, code: &str) -> Value {
        self.assert_problem_status(status);
        assert_eq!(self.body["code"], code, "{}", self.body);
        self.body
    }

    /// Asserts a problem+json answer with this status, whatever its code.
    #[track_caller]
    pub fn assert_problem_status(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "a problem answer: {}",
            self.body
        );
        assert_eq!(self.body["status"], status, "{}", self.body);
    }

    /// Asserts a 422 `validation_failed` naming exactly these fields (in any order).
    #[track_caller]
    pub fn assert_invalid(self, fields: &[&str]) -> Value {
        let body = self.assert_problem(422, "validation_failed");
        let mut got: Vec<String> = body["errors"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        got.dedup();
        let mut want: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{body}");
        body
    }
}
