//! The response envelope: `{"data": ..., "pagination": ...}` on success and
//! `{"ok": false, "error", "code", "details"?}` on failure, with the headers the contract asks for.

use crate::error::ApiError;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECONDS: &str = "5";

/// An answer as it leaves the app, before the flavor's glue ([`crate::serve`]) hands it to Spin.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    fn new(status: u16) -> HttpResponse {
        HttpResponse { status, headers: Vec::new(), body: Vec::new() }
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> HttpResponse {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The value of the header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// Page pagination of rooms, members and invitations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PagePagination {
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub has_more: bool,
}

/// Cursor pagination of messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CursorPagination {
    pub limit: u32,
    pub has_more: bool,
    pub prev_cursor: Option<String>,
    pub next_cursor: Option<String>,
}

/// Pagination of the change feed: `nextToken` is always set (where to go on from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePagination {
    pub limit: u32,
    pub has_more: bool,
    pub next_token: String,
}

/// What a handler answers on success: the status, the JSON body (serialized once, straight from
/// the handler's types: a page of messages is most of a request's work inside the component)
/// and the headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Data<T> {
    data: T,
}

#[derive(Serialize)]
struct Listing<T, P> {
    data: T,
    pagination: P,
}

impl Reply {
    /// `200 {"data": data}`.
    pub fn ok(data: impl Serialize) -> Reply {
        Reply::with_status(200, data)
    }

    /// `201 {"data": data}` with `Location`.
    pub fn created(data: impl Serialize, location: String) -> Reply {
        Reply::with_status(201, data).header("location", location)
    }

    /// `200 {"data": [...], "pagination": {...}}`.
    pub fn list(data: impl Serialize, pagination: impl Serialize) -> Reply {
        Reply { status: 200, body: Some(to_json(&Listing { data, pagination })), headers: Vec::new() }
    }

    pub fn no_content() -> Reply {
        Reply { status: 204, body: None, headers: Vec::new() }
    }

    pub fn with_status(status: u16, data: impl Serialize) -> Reply {
        Reply { status, body: Some(to_json(&Data { data })), headers: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// A strong `ETag` for this reply's body, and `304 Not Modified` (no body) when
    /// `if_none_match` already names it.
    pub fn with_etag(self, if_none_match: Option<&str>) -> Reply {
        let digest = Sha256::digest(self.body.as_deref().unwrap_or_default().as_bytes());
        let tag = format!("\"{}\"", digest[..16].iter().map(|b| format!("{b:02x}")).collect::<String>());
        let matches = if_none_match.is_some_and(|header| {
            header
                .split(',')
                .map(str::trim)
                .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
        });
        if matches {
            Reply { status: 304, body: None, headers: Vec::new() }.header("etag", tag)
        } else {
            self.header("etag", tag)
        }
    }

    pub fn into_response(self, request_id: &str) -> HttpResponse {
        let mut response = HttpResponse::new(self.status).with_header("x-request-id", request_id);
        response.headers.extend(self.headers);
        match self.body {
            Some(body) => {
                HttpResponse { body: body.into_bytes(), ..response.with_header("content-type", JSON_CONTENT_TYPE) }
            }
            None => response,
        }
    }
}

// Serializing our own plain data types cannot fail; should it ever, the client gets `null`
// rather than a panic, and the tests catch it.
fn to_value(data: impl Serialize) -> Value {
    serde_json::to_value(data).unwrap_or(Value::Null)
}

fn to_json(envelope: &impl Serialize) -> String {
    serde_json::to_string(envelope).unwrap_or_else(|_| r#"{"data":null}"#.to_owned())
}

/// The error envelope for `error`, with its status and headers.
pub fn error_response(error: &ApiError, request_id: &str) -> HttpResponse {
    let mut body = json!({ "ok": false, "error": error.public_message(), "code": error.code() });
    if let ApiError::Validation(details) = error {
        body["details"] = to_value(details);
    }
    let response = HttpResponse::new(error.status())
        .with_header("content-type", JSON_CONTENT_TYPE)
        .with_header("x-request-id", request_id);
    let response = match error {
        ApiError::Unauthorized(_) => response.with_header("www-authenticate", "Bearer"),
        ApiError::MethodNotAllowed { allow } => response.with_header("allow", allow.as_str()),
        ApiError::NotReady(_) | ApiError::Unavailable(_) => response.with_header("retry-after", RETRY_AFTER_SECONDS),
        _ => response,
    };
    HttpResponse { body: body.to_string().into_bytes(), ..response }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Refusal;
    use crate::error::FieldError;

    fn body_of(response: &HttpResponse) -> Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
        response.header(name)
    }

    #[test]
    fn error_envelope_has_exactly_ok_error_and_code() {
        let response = error_response(&ApiError::NotFound, "req-1");
        assert_eq!(response.status, 404);
        assert_eq!(body_of(&response), json!({"ok": false, "error": "not found", "code": "NOT_FOUND"}));
        assert_eq!(header(&response, "x-request-id"), Some("req-1"));
        assert_eq!(header(&response, "content-type"), Some(JSON_CONTENT_TYPE));
    }

    #[test]
    fn validation_errors_carry_details() {
        let error = ApiError::Validation(vec![FieldError::new("name", "too short")]);
        let body = body_of(&error_response(&error, "r"));
        assert_eq!(body["code"], "VALIDATION_ERROR");
        assert_eq!(body["details"], json!([{"field": "name", "message": "too short"}]));
    }

    #[test]
    fn internal_errors_never_leak_their_detail() {
        let error = ApiError::Internal("no such table: rooms at line 3".into());
        let response = error_response(&error, "r");
        assert_eq!(response.status, 500);
        let text = String::from_utf8(response.body.clone()).unwrap();
        assert!(!text.contains("rooms"), "{text}");
        assert_eq!(body_of(&response)["code"], "INTERNAL_ERROR");
    }

    #[test]
    fn statuses_carry_their_headers() {
        let unauthorized = error_response(&ApiError::Unauthorized("missing token"), "r");
        assert_eq!(header(&unauthorized, "www-authenticate"), Some("Bearer"));
        let not_allowed = error_response(&ApiError::MethodNotAllowed { allow: "GET, POST".into() }, "r");
        assert_eq!(header(&not_allowed, "allow"), Some("GET, POST"));
        let unavailable = error_response(&ApiError::Unavailable("refused".into()), "r");
        assert_eq!(unavailable.status, 503);
        assert_eq!(header(&unavailable, "retry-after"), Some(RETRY_AFTER_SECONDS));
        let conflict = error_response(&ApiError::Refused(Refusal::LastAdmin), "r");
        assert_eq!((conflict.status, body_of(&conflict)["code"].clone()), (409, json!("LAST_ADMIN")));
    }

    #[test]
    fn etags_answer_304_when_they_match() {
        let reply = Reply::ok(json!([1]));
        let tagged = reply.clone().with_etag(None);
        let tag = tagged.headers.iter().find(|(n, _)| n == "etag").unwrap().1.clone();
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert_eq!(reply.clone().with_etag(Some(&tag)).status, 304);
        assert_eq!(reply.clone().with_etag(Some(&format!("\"x\", W/{tag}"))).status, 304);
        assert_eq!(reply.clone().with_etag(Some("*")).status, 304);
        assert_eq!(reply.clone().with_etag(Some("\"other\"")).status, 200);
        assert_eq!(Reply::ok(json!([2])).with_etag(Some(&tag)).status, 200);
    }

    #[test]
    fn success_envelopes() {
        let list = Reply::list(vec![1, 2], PagePagination { page: 1, limit: 20, total: 2, has_more: false });
        assert_eq!(
            serde_json::from_str::<Value>(&list.body.unwrap()).unwrap(),
            json!({"data": [1, 2], "pagination": {"page": 1, "limit": 20, "total": 2, "hasMore": false}})
        );
        let cursor = CursorPagination { limit: 50, has_more: true, prev_cursor: Some("a".into()), next_cursor: None };
        assert_eq!(
            serde_json::to_value(cursor).unwrap(),
            json!({"limit": 50, "hasMore": true, "prevCursor": "a", "nextCursor": null})
        );
        let created = Reply::created(json!({"id": 1}), "/api/rooms/1".into()).into_response("r");
        assert_eq!(created.status, 201);
        assert_eq!(header(&created, "location"), Some("/api/rooms/1"));
    }
}
