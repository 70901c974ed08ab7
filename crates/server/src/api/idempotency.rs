//! The `Idempotency-Key` header: a POST runs once per key; a replay gets the stored answer.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use punchcard_app::api_keys::ApiPrincipal;
use punchcard_app::campaigns::vouchers::IntegrationPrincipal;
use punchcard_app::idempotency::{parse_key, Fence, IdempotencyClaim, FENCE, RENEW_EVERY};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::problem::{ApiError, Problem, Superseded};
use crate::state::AppState;

/// Largest request or response body an idempotent request may carry.
const MAX_BODY: usize = 25 * 1024 * 1024;

/// How long a duplicate waits for the first request with its key to finish.
const IN_FLIGHT_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw_key) = req.headers().get("idempotency-key") else {
        return next.run(req).await;
    };
    let key = match raw_key
        .to_str()
        .map_err(|_| ())
        .and_then(|k| parse_key(k).map_err(|_| ()))
    {
        Ok(k) => k,
        Err(()) => {
            return ApiError(punchcard_app::AppError::field(
                "Idempotency-Key",
                "must be 1-255 visible ASCII characters",
            ))
            .into_response()
        }
    };
    // An API key's request, or a voucher campaign integration's award: keys are kept per
    // merchant and environment either way.
    let scope = match (
        req.extensions().get::<ApiPrincipal>(),
        req.extensions().get::<IntegrationPrincipal>(),
    ) {
        (Some(p), _) => (p.merchant_id.clone(), p.env),
        (None, Some(p)) => (p.merchant_id.clone(), p.env),
        (None, None) => return next.run(req).await,
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            )
            .into_response()
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"?");
    hasher.update(parts.uri.query().unwrap_or("").as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let request_hash = hex::encode(hasher.finalize());

    let fence = Fence {
        merchant_id: scope.0,
        env: scope.1,
        key,
        holder: punchcard_app::secrets::random_token("att_"),
    };
    // A concurrent duplicate waits for the first request's answer (polling the store, so it
    // works across servers); only a request still running after the wait gets a 409. A claim
    // whose server died (its lease ran out) is taken over and run here.
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(10);
    let applied_before = loop {
        match state.app.claim_idempotency_key(&fence, &request_hash).await {
            Err(e) => return ApiError(e).into_response(),
            Ok(IdempotencyClaim::Done {
                request_hash: stored,
                status,
                body,
            }) => {
                if stored != request_hash {
                    return mismatch();
                }
                return replay(status, body);
            }
            Ok(IdempotencyClaim::InFlight {
                request_hash: stored,
            }) => {
                if stored != request_hash {
                    return mismatch();
                }
                if started.elapsed() >= IN_FLIGHT_WAIT {
                    return in_progress();
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            Ok(IdempotencyClaim::Claimed) => break false,
            Ok(IdempotencyClaim::TakenOver { applied }) => {
                tracing::warn!(
                    applied,
                    "took over an idempotency key whose earlier attempt stopped"
                );
                break applied;
            }
        }
    };

    // The claimed request runs, and its answer is stored, in a task of its own: if the client
    // hangs up (or a timeout drops this future) the work still finishes and the key gets its
    // answer, instead of staying claimed and refusing every retry until it is pruned.
    let req = Request::from_parts(parts, Body::from(bytes));
    let run = tokio::spawn(
        run_and_store(state.clone(), next, req, fence.clone(), applied_before)
            .instrument(tracing::Span::current()),
    );
    match run.await {
        Ok(response) => response,
        Err(e) => {
            // The handler panicked: nothing was answered, so the key is freed for a retry.
            tracing::error!(error = %e, "an idempotent request failed");
            release(&state, &fence).await;
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred; it has been logged",
            )
            .into_response()
        }
    }
}

/// Runs a request that claimed its key, renewing the claim while it runs, and stores its
/// answer (a server error frees the key). Every transaction the request commits checks, inside
/// itself, that the claim is still this attempt's (see `punchcard_store::commit`).
async fn run_and_store(
    state: AppState,
    next: Next,
    req: Request,
    fence: Fence,
    applied_before: bool,
) -> Response {
    let renewer = {
        let (state, fence) = (state.clone(), fence.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                match state.app.renew_idempotency_key(&fence).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => tracing::warn!(error = %e, "could not renew an idempotency key"),
                }
            }
        })
    };
    let mut response = FENCE.scope(fence.clone(), next.run(req)).await;
    renewer.abort();
    let superseded = response.extensions().get::<Superseded>().is_some();
    if superseded && !applied_before {
        // Another attempt took the key over while this one ran: it answers the retries.
        return response;
    }
    if applied_before && response.status().is_client_error() {
        // The earlier attempt's action was applied but its answer was lost with its server,
        // and this action has no retry key of its own to replay from: running it again was
        // refused (by the fence, or by what the first attempt wrote).
        response = Problem::new(
            StatusCode::CONFLICT,
            "idempotency_applied",
            "the first request with this Idempotency-Key was applied, but its answer was lost \
             when its server stopped; read the result with a GET",
        )
        .into_response();
    }
    let status = response.status();
    if status.is_server_error() {
        release(&state, &fence).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not buffer a response");
            release(&state, &fence).await;
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match state
        .app
        .complete_idempotency_key(&fence, status.as_u16(), &text)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("an idempotency key was taken over before its answer was stored")
        }
        Err(e) => tracing::error!(error = %e, "could not store an idempotent answer"),
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn release(state: &AppState, fence: &Fence) {
    if let Err(e) = state.app.release_idempotency_key(fence).await {
        tracing::warn!(error = %e, "could not release an idempotency key");
    }
}

fn in_progress() -> Response {
    Problem::new(
        StatusCode::CONFLICT,
        "idempotency_in_progress",
        "a request with this Idempotency-Key is still being processed; retry shortly",
    )
    .with_retry_after(1)
    .into_response()
}

fn mismatch() -> Response {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_mismatch",
        "this Idempotency-Key was used with a different request",
    )
    .into_response()
}

fn replay(status: i64, body: String) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}
