//! The HTTP server: the JSON API, health and metrics endpoints (and the dashboard).

pub mod api;
pub mod build_info;
pub mod client_ip;
pub mod config;
pub mod dashboard;
pub mod exports;
pub mod health;
pub mod logs;
pub mod mail;
pub mod member;
pub mod metrics;
pub mod partner;
pub mod problem;
pub mod security_headers;
pub mod state;
pub mod storage;
pub mod throttle;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::Request;
use axum::http::{HeaderName, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use punchcard_app::{App, AppSettings};
use punchcard_store::Db;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use config::Config;
use state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A server bound to its address, ready to run.
pub struct Server {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Server {
    /// Opens the database, applies migrations and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let storage = storage::Storage::open(&config.storage_url)?;
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let bound = listener.local_addr()?;
        let mailer = mail::Mailer::from_config(
            config.smtp_url.as_deref(),
            &config.mail_from,
            &config.mail_dir,
        )?;
        let throttle = match config.redis_url.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                let t = throttle::Throttle::redis(url)?;
                // Redis down at start is not fatal: the API's rate limit fails open until it
                // answers (sign-in throttles refuse), and the connection is retried on use.
                match t.ping().await {
                    Ok(()) => tracing::info!("rate limits and throttles shared through Redis"),
                    Err(e) => tracing::warn!(
                        error = %e,
                        "Redis does not answer; API rate limits are not enforced until it does"
                    ),
                }
                t
            }
            None => throttle::Throttle::in_process(),
        };
        let app = App::new(
            db,
            AppSettings {
                allow_private_callbacks: config.allow_private_callbacks,
                callback_timeout: config.callback_timeout,
                job_poll_interval: config.job_poll_interval,
                webhook_retry_base: config.webhook_retry_base,
                webhook_retention: config.webhook_retention,
                ..AppSettings::default()
            },
        );
        app.set_event_renderer(Arc::new(api::webhooks::ApiEvents));
        let cookie_key = dashboard::cookies::CookieKey::new(
            app.instance_secret("dashboard_cookie_key")
                .await?
                .as_bytes(),
        );
        let allowed_ips = api::allowed_ips::AllowedIpCache::new(&app.db);
        let metrics = metrics::Metrics::new(&app);
        let state = AppState::new(state::StateParts {
            app,
            base_url: config.base_url(bound).into(),
            config: Arc::new(config),
            metrics,
            storage,
            allowed_ips,
            mailer,
            throttle,
            cookie_key,
        });
        let router = router(state.clone());
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let db = self.state.app.db.clone();
        let app = self.state.app.clone();
        let housekeeping = tokio::spawn(housekeeping(self.state.app.clone()));
        let unrecorded = tokio::spawn(record_unrecorded(self.state.app.clone()));
        // Background jobs (webhook deliveries …), shared with every other server.
        let jobs = tokio::spawn(
            punchcard_app::jobs::JobRunner::new(
                self.state.app.clone(),
                punchcard_app::jobs::JobKinds::standard(),
            )
            .run(),
        );
        // Hears other servers' (and `punchcard admin`'s) changes, so caches forget at once.
        let changes = tokio::spawn(punchcard_store::changes::watch(db.clone()));
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("server error")?;
        housekeeping.abort();
        jobs.abort();
        changes.abort();
        unrecorded.abort();
        // A last try for the interactions still waiting, before the pool closes.
        app.record_unrecorded().await;
        let waiting = app.unrecorded_count();
        if waiting > 0 {
            tracing::error!(
                waiting,
                "interactions could not be written before the server stopped"
            );
        }
        db.close().await;
        Ok(())
    }
}

/// Writes, every few seconds, the interactions that could not be written when they happened.
async fn record_unrecorded(app: App) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        let written = app.record_unrecorded().await;
        if written > 0 {
            tracing::info!(written, "kept interactions written");
        }
    }
}

/// Purges expired rows and counts campaigns' settled report hours every 15 minutes (the first
/// run a minute after start).
async fn housekeeping(app: App) {
    let mut every = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(60),
        Duration::from_secs(15 * 60),
    );
    loop {
        every.tick().await;
        if let Err(e) = app
            .purge_expired_at(punchcard_domain::time::Timestamp::now())
            .await
        {
            tracing::warn!(error = %e, "housekeeping failed; retrying at the next interval");
        }
        if let Err(e) = app
            .count_report_hours_at(punchcard_domain::time::Timestamp::now())
            .await
        {
            tracing::warn!(error = %e, "counting report hours failed; retrying at the next interval");
        }
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/dashboard") }),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::serve_metrics))
        .merge(api::routes(&state))
        .merge(api::docs())
        .merge(dashboard::routes(&state))
        .merge(member::routes())
        .merge(partner::routes(&state))
        .route_layer(from_fn_with_state(state.clone(), metrics::track))
        .fallback(not_found)
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                problem::Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "an internal error occurred; it has been logged",
                )
                .into_response()
            },
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(60),
        ))
        .layer(axum::middleware::from_fn(problem::uniform_errors))
        .layer(axum::middleware::from_fn(security_headers::on_html))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                // The status and a numeric latency, so JSON logs can be queried by either.
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = latency.as_secs_f64() * 1000.0,
                        "finished processing request"
                    )
                })
                .make_span_with(|req: &Request| {
                    let request_id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        request_id = %request_id,
                        merchant_id = tracing::field::Empty,
                    )
                }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        problem::Problem::not_found().into_response()
    } else {
        dashboard::not_found_page().await
    }
}
