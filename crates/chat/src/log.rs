//! Structured logs on the component's stderr: one JSON object per line, each line written whole
//! with one write (Spin collects the stderr of every concurrent instance of a component into one
//! file, where a line written in pieces interleaves with others mid-line).
//!
//! Every request ends with one [`RequestLine`]; other events ([`warn`], [`error`]) carry the
//! request id of the request they happened in. Nothing logged holds a token, a message's
//! content, an attachment URL or a query string: only what [`RequestLine`] names.

use std::cell::RefCell;
use std::io::Write;

use serde::Serialize;

/// The request being answered. A WASIp3 instance serves many requests, but `Routes::answer`
/// runs synchronously from `begin_request` to the request's log line, so no other request's
/// events come between.
struct Context {
    request_id: String,
    component: &'static str,
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Tags the events logged from now on with `request_id` and `component`.
pub fn begin_request(component: &'static str, request_id: &str) {
    CONTEXT.with(|context| *context.borrow_mut() = Some(Context { request_id: request_id.to_owned(), component }));
}

/// The line that ends every request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestLine<'a> {
    pub method: &'a str,
    /// The route's pattern (`/api/rooms/:id/messages`), not the path: `null` when none matched.
    pub route: Option<&'a str>,
    pub status: u16,
    pub duration_ms: f64,
    /// Statements sent to the store while serving it.
    pub statements: u32,
    /// How many times a long-poll's answer was read (absent when once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passes: Option<u32>,
    /// The authenticated caller, when there was one.
    pub user_id: Option<String>,
    /// A server error's detail (never sent to the client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Logs the end of the current request: level `error` for a 5xx other than 503, `warn` for a
/// 503, `info` otherwise.
pub fn request(line: &RequestLine<'_>) {
    let level = match line.status {
        503 => "warn",
        500..=599 => "error",
        _ => "info",
    };
    write(level, serde_json::to_value(line).unwrap_or_default());
}

pub fn info(message: &str) {
    write("info", serde_json::json!({ "message": message }));
}

pub fn warn(message: &str) {
    write("warn", serde_json::json!({ "message": message }));
}

pub fn error(message: &str) {
    write("error", serde_json::json!({ "message": message }));
}

/// `ts`, `level`, the request's `requestId` and `component`, then `fields`, as one line.
fn write(level: &str, fields: serde_json::Value) {
    let mut line = serde_json::Map::new();
    line.insert("ts".into(), chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true).into());
    line.insert("level".into(), level.into());
    CONTEXT.with(|context| {
        if let Some(context) = &*context.borrow() {
            line.insert("requestId".into(), context.request_id.clone().into());
            line.insert("component".into(), context.component.into());
        }
    });
    if let serde_json::Value::Object(fields) = fields {
        line.extend(fields);
    }
    write_line(&serde_json::Value::Object(line).to_string());
}

/// Writes `line` and a newline to stderr in one write. Logging never fails a request.
pub fn write_line(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_names_its_fields_in_camel_case_and_omits_an_absent_error() {
        let line = RequestLine {
            method: "GET",
            route: Some("/api/rooms/:id"),
            status: 200,
            duration_ms: 1.5,
            statements: 1,
            passes: None,
            user_id: None,
            error: None,
        };
        let value = serde_json::to_value(&line).unwrap();
        let mut keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["durationMs", "method", "route", "statements", "status", "userId"]);
    }
}
