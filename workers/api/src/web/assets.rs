//! The dashboard's stylesheet and its one script, each named by a hash of its content so
//! it can be cached for a year: a new build with new content has a new name.
//!
//! A strict Content-Security-Policy forbids `style` attributes, so the day grid places its
//! blocks with classes instead: `.cN` (column N), `.rN` (starting row N) and `.sN`
//! (spanning N rows), generated here for every row a day can have.

use std::sync::LazyLock;

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

/// Rows of a day: a header of [`HEADER_ROWS`], then one per 5 minutes of 24 hours.
pub const HEADER_ROWS: usize = 6;
pub const MINUTES_PER_ROW: i64 = 5;
const DAY_ROWS: usize = 24 * 60 / MINUTES_PER_ROW as usize;
/// Staff columns a day shows side by side (the team is 1–10 people).
pub const MAX_COLUMNS: usize = 12;

pub struct Asset {
    /// `/assets/<name>.<hash>.<extension>`
    pub path: String,
    content_type: &'static str,
    body: String,
}

impl Asset {
    fn new(name: &str, extension: &str, content_type: &'static str, body: String) -> Asset {
        let hash = hex::encode(&Sha256::digest(body.as_bytes())[..6]);
        Asset {
            path: format!("/assets/{name}.{hash}.{extension}"),
            content_type,
            body,
        }
    }
}

/// Refreshes the day's grid when the organization's live events say it changed.
pub static LIVE_SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "live",
        "js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/live.js").to_owned(),
    )
});

pub static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    let mut body = include_str!("../../assets/app.css").to_owned();
    for columns in 1..=MAX_COLUMNS {
        body.push_str(&format!(
            ".cols-{columns}{{grid-template-columns:3.2rem repeat({columns},minmax(7.5rem,1fr))}}\n"
        ));
    }
    for column in 1..=MAX_COLUMNS + 1 {
        body.push_str(&format!(".c{column}{{grid-column:{column}}}"));
    }
    for row in 1..=HEADER_ROWS + DAY_ROWS {
        body.push_str(&format!(".r{row}{{grid-row-start:{row}}}"));
    }
    for span in 1..=DAY_ROWS {
        body.push_str(&format!(".s{span}{{grid-row-end:span {span}}}"));
    }
    body.push('\n');
    Asset::new("app", "css", "text/css; charset=utf-8", body)
});

/// `GET /assets/{name}`: an asset under its current name, cached for a year.
pub async fn serve(Path(name): Path<String>) -> Response {
    let path = format!("/assets/{name}");
    let Some(asset) = [&*STYLESHEET, &*LIVE_SCRIPT]
        .into_iter()
        .find(|a| a.path == path)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        asset.body.clone(),
    )
        .into_response()
}
