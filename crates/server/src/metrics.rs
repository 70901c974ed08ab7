//! Prometheus metrics: request counts and latency by route (never by tenant), failures
//! of the rate limiter's counter store and webhook deliveries by outcome.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    method: String,
    route: String,
}

/// The server's metrics registry; one per server, no globals.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    rate_limit_backend_errors: Counter,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("punchcard");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
        });
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let rate_limit_backend_errors = Counter::default();
        registry.register(
            "rate_limit_backend_errors",
            "API calls served without a rate limit because its counter store failed",
            rate_limit_backend_errors.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retrying (failed, tried again later) or failed (given up)",
            webhook_deliveries.clone(),
        );
        Arc::new(Self {
            registry,
            requests,
            latency,
            rate_limit_backend_errors,
            webhook_deliveries,
        })
    }

    /// Counts one API call served unlimited because the rate limiter's store failed.
    pub fn rate_limit_backend_error(&self) {
        self.rate_limit_backend_errors.inc();
    }

    /// Brings the webhook delivery counters up to what the job runner counted.
    fn sync_deliveries(&self, counted: &punchcard_app::webhooks::DeliveryOutcomes) {
        use std::sync::atomic::Ordering::Relaxed;
        for (outcome, value) in [
            ("delivered", counted.delivered.load(Relaxed)),
            ("retrying", counted.retrying.load(Relaxed)),
            ("failed", counted.failed.load(Relaxed)),
        ] {
            let counter = self.webhook_deliveries.get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            });
            let seen = counter.get();
            if value > seen {
                counter.inc_by(value - seen);
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "could not encode metrics");
        }
        out
    }
}

/// Counts and times every request by its route template.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status: response.status().as_u16().to_string(),
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&LatencyLabels { method, route })
        .observe(elapsed);
    response
}

pub async fn serve_metrics(State(state): State<AppState>) -> Response {
    state.metrics.sync_deliveries(&state.app.delivery_outcomes);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
