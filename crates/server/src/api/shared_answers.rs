//! The answers every operation of the OpenAPI document can give besides its own: those of
//! the layers and extractors it shares with the others (authentication, allowed IPs, rate
//! limits, idempotency keys, JSON bodies, query strings and path ids). Declared here once, from
//! what each operation takes, so a new operation cannot forget them.

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Required};
use utoipa::Modify;

/// Declares the shared answers on every operation (an operation's own answer for the same
/// status, with its own description, is kept).
pub struct SharedAnswers;

/// A shared answer: its status, its name under `components/responses` and what it means.
struct Shared {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const MALFORMED: Shared = Shared {
    status: "400",
    name: "BadRequest",
    description:
        "`malformed_json`: the body is not valid JSON; `bad_request`: the body could not be read",
};
const UNAUTHORIZED: Shared = Shared {
    status: "401",
    name: "Unauthorized",
    description:
        "`unauthorized`: missing or wrong API key credentials (HTTP Basic: key id and secret)",
};
const FORBIDDEN: Shared = Shared {
    status: "403",
    name: "Forbidden",
    description: "`account_frozen`, `ip_not_allowed` (the caller's address is not on the merchant's list) or `forbidden` (the account is not active yet)",
};
const NOT_FOUND: Shared = Shared {
    status: "404",
    name: "NotFound",
    description: "`not_found`: no such resource in this environment (an id of another kind, or that cannot be an id, is not found either)",
};
const IN_PROGRESS: Shared = Shared {
    status: "409",
    name: "IdempotencyInProgress",
    description: "`idempotency_in_progress`: a request with this `Idempotency-Key` is still running; retry shortly",
};
const TOO_LARGE: Shared = Shared {
    status: "413",
    name: "PayloadTooLarge",
    description: "`payload_too_large`: the body is larger than this operation takes",
};
const UNSUPPORTED: Shared = Shared {
    status: "415",
    name: "UnsupportedMediaType",
    description:
        "`unsupported_media_type`: the body is not of the content type this operation takes",
};
const INVALID: Shared = Shared {
    status: "422",
    name: "ValidationFailed",
    description: "`validation_failed`: invalid fields, query parameters or `Idempotency-Key` (each named in `errors`), or `idempotency_mismatch`",
};
const RATE_LIMITED: Shared = Shared {
    status: "429",
    name: "RateLimited",
    description: "`rate_limited`: the rate limit of the merchant and environment is reached; retry after `Retry-After` seconds",
};
const UNAVAILABLE: Shared = Shared {
    status: "503",
    name: "Unavailable",
    description:
        "`unavailable`: the database cannot be reached or the request took too long; retry shortly",
};

const ALL: [Shared; 10] = [
    MALFORMED,
    UNAUTHORIZED,
    FORBIDDEN,
    NOT_FOUND,
    IN_PROGRESS,
    TOO_LARGE,
    UNSUPPORTED,
    INVALID,
    RATE_LIMITED,
    UNAVAILABLE,
];

fn problem_response(shared: &Shared) -> Response {
    let mut r = ResponseBuilder::new()
        .description(shared.description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        );
    let string_header = |description: &str| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(description))
            .build()
    };
    match shared.status {
        "401" => {
            r = r.header(
                "WWW-Authenticate",
                string_header("`Basic realm=\"punchcard\"`"),
            )
        }
        "429" => {
            r = r.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::Integer))
                    .description(Some("seconds until the window ends"))
                    .build(),
            )
        }
        _ => {}
    }
    r.build()
}

/// The `Idempotency-Key` header every POST takes.
fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "makes a retry safe: 1-255 visible ASCII characters; a replay with the same body \
             answers the first answer again",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$")),
        ))
        .build()
}

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for shared in &ALL {
            components
                .responses
                .insert(shared.name.to_string(), RefOr::T(problem_response(shared)));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            for (is_post, op) in [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (false, item.put.as_mut()),
                (false, item.patch.as_mut()),
                (false, item.delete.as_mut()),
            ] {
                if let Some(op) = op {
                    declare(op, has_id, is_post);
                }
            }
        }
    }
}

/// Adds to one operation the shared answers that apply to it.
fn declare(op: &mut Operation, has_id: bool, is_post: bool) {
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if !authenticated {
        return;
    }
    let mut answers = vec![&UNAUTHORIZED, &FORBIDDEN, &RATE_LIMITED, &UNAVAILABLE];
    let body_types: Vec<String> = op
        .request_body
        .as_ref()
        .map(|b| b.content.keys().cloned().collect())
        .unwrap_or_default();
    if body_types.iter().any(|t| t == "application/json") {
        answers.extend([&MALFORMED, &TOO_LARGE, &UNSUPPORTED, &INVALID]);
    }
    if body_types.iter().any(|t| t.starts_with("multipart/")) {
        answers.extend([&MALFORMED, &TOO_LARGE, &UNSUPPORTED, &INVALID]);
    }
    let params = op.parameters.get_or_insert_with(Vec::new);
    if params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query))
    {
        answers.push(&INVALID);
    }
    if has_id {
        answers.push(&NOT_FOUND);
    }
    if is_post {
        // The idempotency layer buffers the body of a keyed POST (413 past its limit) and
        // refuses a malformed or reused key (422) or one still in use (409).
        params.retain(|p| p.name != "Idempotency-Key");
        params.push(idempotency_key());
        answers.extend([&IN_PROGRESS, &TOO_LARGE, &INVALID]);
    }
    if params.is_empty() {
        op.parameters = None;
    }
    for shared in answers {
        op.responses
            .responses
            .entry(shared.status.to_string())
            .or_insert_with(|| {
                RefOr::Ref(Ref::new(format!("#/components/responses/{}", shared.name)))
            });
    }
}
