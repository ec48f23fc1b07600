//! Meta's Graph API as far as Cita uses it: sending messages, marking them read, and
//! downloading inbound media. Tokens travel only in the `Authorization` header and are
//! never part of an error or a log line.

use std::time::Duration;

use bytes::Bytes;
use cita_shared::{config::OutboundSettings, secret::Secret};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// No answer: connection refused or reset, timeout. Meta may or may not have acted.
    #[error("no answer from the Graph API: {0}")]
    Transport(String),
    #[error("Graph API error {}: {} (HTTP {}, fbtrace_id {})", .0.code, .0.detail(), .0.status, .0.fbtrace_id.as_deref().unwrap_or("-"))]
    Api(ApiError),
    #[error("unexpected answer from the Graph API (HTTP {status}): {detail}")]
    Unexpected { status: u16, detail: String },
    #[error("media {0} is larger than the {1} bytes allowed")]
    MediaTooLarge(String, usize),
    #[error("media {0} does not match its sha256")]
    MediaChecksum(String),
}

/// Meta's error object (`{"error": {...}}`).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
    #[serde(default)]
    pub fbtrace_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
}

impl ApiError {
    /// `error_data.details` when given (Meta is deprecating the titles in `message`).
    pub fn detail(&self) -> &str {
        self.error_data
            .as_ref()
            .and_then(|d| d.details.as_deref())
            .unwrap_or(&self.message)
    }
}

/// What a failed call means for the message, decided once, here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Over one of Meta's rate limits: try later, without spending an attempt.
    Throttled,
    /// Try again later: transport errors, 5xx, temporary errors.
    Retryable,
    /// 131047: the customer service window is closed; only a template may go.
    OutsideWindow,
    /// The organization's token is expired or revoked; nothing will work until it is
    /// replaced.
    TokenInvalid,
    /// Meta refused this message for good.
    Permanent,
}

/// Rate limits (reference §5.2, §5.4): the app's and the WABA's call limits,
/// throughput, pair rate, flow throttling, register/deregister rate.
const THROTTLED_CODES: &[i64] = &[4, 80007, 130429, 131056, 132069, 133016];
/// Worth retrying: unknown/temporary errors, generic and service-unavailable,
/// maintenance.
const RETRYABLE_CODES: &[i64] = &[1, 2, 131000, 131016, 131057];

impl GraphError {
    pub fn class(&self) -> Class {
        match self {
            GraphError::Transport(_) => Class::Retryable,
            GraphError::Api(error) => match error.code {
                131047 => Class::OutsideWindow,
                // 190: token expired or invalid; 0: cannot authenticate the app user.
                190 | 0 => Class::TokenInvalid,
                code if THROTTLED_CODES.contains(&code) => Class::Throttled,
                code if RETRYABLE_CODES.contains(&code) => Class::Retryable,
                _ if error.status == 429 => Class::Throttled,
                _ if error.status >= 500 => Class::Retryable,
                _ => Class::Permanent,
            },
            GraphError::Unexpected { status, .. } => {
                if *status == 429 {
                    Class::Throttled
                } else if *status >= 500 || *status == 408 {
                    Class::Retryable
                } else {
                    Class::Permanent
                }
            }
            GraphError::MediaTooLarge(..) | GraphError::MediaChecksum(_) => Class::Permanent,
        }
    }

    /// Meta's error code, when Meta gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            GraphError::Api(error) => Some(error.code),
            _ => None,
        }
    }
}

/// Meta accepted a message (which is not yet delivered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The WhatsApp message id (`wamid…`) that status webhooks will name.
    pub message_id: String,
    /// Meta's canonical id of the recipient (for Mexico often the `521…` form).
    pub wa_id: Option<String>,
}

/// A downloaded media file.
#[derive(Debug, Clone)]
pub struct Media {
    pub mime_type: String,
    pub data: Bytes,
}

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    /// `{base}/{version}`
    root: String,
}

impl GraphClient {
    pub fn new(settings: &OutboundSettings) -> Result<Self, GraphError> {
        // reqwest is built without a bundled TLS provider; ring is ours. A provider
        // installed earlier (by this or another caller) is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(settings.graph_timeout)
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("cita-outbound/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GraphError::Transport(e.to_string()))?;
        Ok(GraphClient {
            http,
            root: format!("{}/{}", settings.graph_api_base, settings.graph_api_version),
        })
    }

    /// `POST /{phone_number_id}/messages` with a message body built by
    /// [`crate::payload`].
    pub async fn send(
        &self,
        phone_number_id: &str,
        token: &Secret,
        body: &Value,
    ) -> Result<Accepted, GraphError> {
        #[derive(Deserialize)]
        struct Response {
            #[serde(default)]
            contacts: Vec<Contact>,
            messages: Vec<MessageId>,
        }
        #[derive(Deserialize)]
        struct Contact {
            wa_id: Option<String>,
        }
        #[derive(Deserialize)]
        struct MessageId {
            id: String,
        }
        let (status, bytes) = self.post_messages(phone_number_id, token, body).await?;
        let response: Response =
            serde_json::from_slice(&bytes).map_err(|e| unexpected(status, e))?;
        let message_id = response
            .messages
            .into_iter()
            .next()
            .map(|m| m.id)
            .ok_or_else(|| unexpected(status, "no message id in the answer"))?;
        Ok(Accepted {
            message_id,
            wa_id: response.contacts.into_iter().next().and_then(|c| c.wa_id),
        })
    }

    /// Marks a message read (and shows the typing indicator, if the body asks for it).
    pub async fn mark_read(
        &self,
        phone_number_id: &str,
        token: &Secret,
        body: &Value,
    ) -> Result<(), GraphError> {
        let (status, bytes) = self.post_messages(phone_number_id, token, body).await?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| unexpected(status, e))?;
        if answer["success"] == true {
            Ok(())
        } else {
            Err(unexpected(status, "read receipt not acknowledged"))
        }
    }

    /// Downloads an inbound media file: its metadata first, then the file from the URL
    /// Meta gives (which needs the same token, and lives about five minutes). Refuses
    /// files over `max_bytes` and files whose sha256 does not match.
    pub async fn media(
        &self,
        phone_number_id: &str,
        token: &Secret,
        media_id: &str,
        max_bytes: usize,
    ) -> Result<Media, GraphError> {
        #[derive(Deserialize)]
        struct Metadata {
            url: String,
            mime_type: String,
            sha256: Option<String>,
        }
        let response = self
            .http
            // Both ids are Meta's numeric strings; nothing to escape.
            .get(format!(
                "{}/{media_id}?phone_number_id={phone_number_id}",
                self.root
            ))
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(transport)?;
        let (status, bytes) = read(response, 64 * 1024).await?;
        let metadata: Metadata =
            serde_json::from_slice(&bytes).map_err(|e| unexpected(status, e))?;
        let response = self
            .http
            .get(&metadata.url)
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(transport)?;
        if response
            .content_length()
            .is_some_and(|n| n > max_bytes as u64)
        {
            return Err(GraphError::MediaTooLarge(media_id.into(), max_bytes));
        }
        let (_, data) = read(response, max_bytes).await.map_err(|e| match e {
            GraphError::Unexpected { detail, .. } if detail == TOO_LARGE => {
                GraphError::MediaTooLarge(media_id.into(), max_bytes)
            }
            other => other,
        })?;
        if let Some(expected) = metadata.sha256
            && hex::encode(Sha256::digest(&data)) != expected.to_ascii_lowercase()
        {
            return Err(GraphError::MediaChecksum(media_id.into()));
        }
        Ok(Media {
            mime_type: metadata.mime_type,
            data,
        })
    }

    async fn post_messages(
        &self,
        phone_number_id: &str,
        token: &Secret,
        body: &Value,
    ) -> Result<(u16, Bytes), GraphError> {
        let response = self
            .http
            .post(format!("{}/{phone_number_id}/messages", self.root))
            .bearer_auth(token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(transport)?;
        read(response, 256 * 1024).await
    }
}

const TOO_LARGE: &str = "answer too large";

/// Reads a successful answer (at most `limit` bytes), or turns an error answer into
/// [`GraphError::Api`] (or `Unexpected` when it is not Meta's error shape).
async fn read(mut response: reqwest::Response, limit: usize) -> Result<(u16, Bytes), GraphError> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > limit {
            return Err(unexpected(status, TOO_LARGE));
        }
        body.extend_from_slice(&chunk);
    }
    if (200..300).contains(&status) {
        return Ok((status, Bytes::from(body)));
    }
    #[derive(Deserialize)]
    struct Envelope {
        error: ApiError,
    }
    match serde_json::from_slice::<Envelope>(&body) {
        Ok(Envelope { mut error }) => {
            error.status = status;
            Err(GraphError::Api(error))
        }
        Err(_) => Err(unexpected(
            status,
            String::from_utf8_lossy(&body[..body.len().min(200)]),
        )),
    }
}

fn transport(error: reqwest::Error) -> GraphError {
    // Without the URL: it names no secret, but keeps log lines short and stable.
    GraphError::Transport(error.without_url().to_string())
}

fn unexpected(status: u16, detail: impl ToString) -> GraphError {
    GraphError::Unexpected {
        status,
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: i64) -> GraphError {
        GraphError::Api(ApiError {
            status,
            code,
            message: String::new(),
            error_data: None,
            fbtrace_id: None,
        })
    }

    #[test]
    fn errors_are_classified_by_code_then_status() {
        assert_eq!(api(400, 131047).class(), Class::OutsideWindow);
        assert_eq!(api(401, 190).class(), Class::TokenInvalid);
        for code in [130429, 131056, 80007, 4, 133016] {
            assert_eq!(api(400, code).class(), Class::Throttled, "{code}");
        }
        for code in [1, 2, 131000, 131016, 131057] {
            assert_eq!(api(400, code).class(), Class::Retryable, "{code}");
        }
        for code in [131026, 100, 132001, 131008, 368] {
            assert_eq!(api(400, code).class(), Class::Permanent, "{code}");
        }
        assert_eq!(api(500, 99999).class(), Class::Retryable);
        assert_eq!(api(429, 99999).class(), Class::Throttled);
        assert_eq!(
            GraphError::Transport("reset".into()).class(),
            Class::Retryable
        );
        let bare = |status| GraphError::Unexpected {
            status,
            detail: String::new(),
        };
        assert_eq!(bare(502).class(), Class::Retryable);
        assert_eq!(bare(404).class(), Class::Permanent);
    }
}
