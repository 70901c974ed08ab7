//! Streams a CSV export as the answer's body: the header row, then each page of rows as it is
//! read, so the server holds one page however many rows there are. The API and the dashboard
//! both answer with it.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::stream;
use punchcard_app::exports::{ExportKind, ExportPage};
use punchcard_app::ledger::Scope;
use punchcard_app::App;
use punchcard_domain::exports::ExportRange;
use punchcard_domain::time::Timestamp;

/// Where the stream stands between two pages.
enum Next {
    Header,
    After(Option<String>),
    Done,
}

fn csv_bytes<'a>(rows: impl IntoIterator<Item = Vec<&'a str>>) -> Result<Bytes, std::io::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        out.write_record(row)?;
    }
    out.into_inner()
        .map(Bytes::from)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

fn page_bytes(page: &ExportPage) -> Result<Bytes, std::io::Error> {
    csv_bytes(
        page.rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect()),
    )
}

/// The streamed CSV answer of an export. A failure after the first bytes cannot change the
/// status any more: it is logged and the connection is cut, so the client sees an incomplete
/// download rather than a file that looks whole.
pub fn csv_response(app: App, scope: Scope, kind: ExportKind, range: ExportRange) -> Response {
    let rows = stream::try_unfold(Next::Header, move |next| {
        let (app, scope) = (app.clone(), scope.clone());
        async move {
            let after = match next {
                Next::Done => return Ok(None),
                Next::Header => {
                    let header = csv_bytes([kind.header().to_vec()])?;
                    return Ok(Some((header, Next::After(None))));
                }
                Next::After(after) => after,
            };
            let page = app
                .export_page(&scope, kind, &range, after.as_deref())
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, export = kind.as_str(), "export failed midway");
                    std::io::Error::other("export failed")
                })?;
            let bytes = page_bytes(&page)?;
            let next = match page.next_after {
                Some(key) => Next::After(Some(key)),
                None => Next::Done,
            };
            Ok::<_, std::io::Error>(Some((bytes, next)))
        }
    });
    let today = Timestamp::now().to_rfc3339();
    let file = format!("{}-{}.csv", kind.as_str(), &today[..10]);
    let mut res = Response::new(Body::from_stream(rows));
    *res.status_mut() = StatusCode::OK;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
