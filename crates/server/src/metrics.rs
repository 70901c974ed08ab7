//! Prometheus metrics: request counts and latency by route (never by tenant), failures of the
//! rate limiter's counter store, what the business did (rewards, redemptions, voucher awards,
//! webhook deliveries by outcome), the database pools, the build and the process (memory, CPU
//! time, open files).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use punchcard_app::App;

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
    /// The registry of a server running `app`.
    pub fn new(app: &App) -> Arc<Self> {
        let mut root = Registry::default();
        // `process_…`, the names every Prometheus client library gives these.
        root.register_collector(Box::new(ProcessCollector));
        let registry = root.sub_registry_with_prefix("punchcard");
        registry.register(
            "build",
            "The version and git commit of the running binary",
            Info::new(vec![
                ("version", crate::build_info::VERSION),
                ("commit", crate::build_info::COMMIT),
            ]),
        );
        registry.register_collector(Box::new(AppCollector(app.clone())));
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
            registry: root,
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: String,
}

/// What the application did since start and its database pools, read on each scrape.
struct AppCollector(App);

impl std::fmt::Debug for AppCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppCollector")
    }
}

fn encode_gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    let metric = encoder.encode_descriptor(name, help, unit, gauge.metric_type())?;
    gauge.encode(metric)
}

impl Collector for AppCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let activity = self.0.activity();
        for (name, help, value) in [
            (
                "rewards",
                "Reward wallet transactions written (API, dashboard and campaigns) since start.",
                activity.rewards(),
            ),
            (
                "redemptions",
                "Redemptions written (coupons paid with points, redeem rules) since start.",
                activity.redemptions(),
            ),
            (
                "voucher_awards",
                "Vouchers awarded by voucher campaigns since start.",
                activity.voucher_awards(),
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        let pools = self.0.db.pool_stats();
        type Read = fn(&punchcard_store::PoolStats) -> i64;
        let gauges: [(&str, &str, Read); 3] = [
            (
                "db_pool_connections",
                "Open database connections, idle or in use, by pool.",
                |p| i64::from(p.size),
            ),
            (
                "db_pool_idle_connections",
                "Idle database connections, by pool.",
                |p| i64::try_from(p.idle).unwrap_or(i64::MAX),
            ),
            (
                "db_pool_max_connections",
                "The most connections a pool opens.",
                |p| i64::from(p.max),
            ),
        ];
        for (name, help, read) in gauges {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for pool in &pools {
                let labels = PoolLabels {
                    pool: pool.pool.to_string(),
                };
                ConstGauge::new(read(pool)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// The process's resident memory, CPU time and open files, from /proc (Linux only; elsewhere
/// nothing).
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    #[cfg(target_os = "linux")]
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use procfs::WithCurrentSystemInfo;
        let Ok(me) = procfs::process::Process::myself() else {
            return Ok(());
        };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second().max(1) as f64;
            let cpu = ConstCounter::new((stat.utime + stat.stime) as f64 / ticks);
            let metric = encoder.encode_descriptor(
                "process_cpu",
                "User and system CPU time spent.",
                Some(&Unit::Seconds),
                cpu.metric_type(),
            )?;
            cpu.encode(metric)?;
            let rss = i64::try_from(stat.rss_bytes().get()).unwrap_or(i64::MAX);
            encode_gauge(
                &mut encoder,
                "process_resident_memory",
                "Resident memory size.",
                Some(&Unit::Bytes),
                rss,
            )?;
        }
        if let Ok(fds) = me.fd_count() {
            encode_gauge(
                &mut encoder,
                "process_open_fds",
                "Open file descriptors.",
                None,
                i64::try_from(fds).unwrap_or(i64::MAX),
            )?;
        }
        if let Ok(limits) = me.limits() {
            if let procfs::process::LimitValue::Value(max) = limits.max_open_files.soft_limit {
                encode_gauge(
                    &mut encoder,
                    "process_max_fds",
                    "The most file descriptors the process may open.",
                    None,
                    i64::try_from(max).unwrap_or(i64::MAX),
                )?;
            }
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn encode(&self, _encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}
