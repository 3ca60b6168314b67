//! Every JSON answer a test receives is checked against `docs/openapi.json`: its status must be
//! one the document lists for that operation, and its body must match that status's schema. So
//! the whole API test suite, in every mode, checks the document as well as the app.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        serde_json::from_str(include_str!("../../../docs/openapi.json")).expect("docs/openapi.json is JSON")
    })
}

/// The documented path template (`/api/rooms/{id}`) `path` falls under, with its operations.
fn path_item(path: &str) -> Option<(&'static str, &'static Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    document()["paths"].as_object()?.iter().find_map(|(template, item)| {
        let parts: Vec<&str> = template.split('/').collect();
        let matches = parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(part, segment)| {
                part == segment || (part.starts_with('{') && part.ends_with('}') && !segment.is_empty())
            });
        matches.then_some((template.as_str(), item))
    })
}

/// Follows a `$ref` into `#/components/...`.
fn resolve(value: &'static Value) -> &'static Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(document().pointer(pointer).unwrap_or_else(|| panic!("{reference} is not in the document")))
        }
        None => value,
    }
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    let cache = VALIDATORS.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(key.to_owned())
        .or_insert_with(|| {
            // The components travel with the schema so that its `#/components/...` refs resolve.
            let mut rooted = schema.clone();
            rooted["components"] = document()["components"].clone();
            let built = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&rooted)
                .unwrap_or_else(|e| panic!("the schema for {key} does not compile: {e}"));
            Arc::new(built)
        })
        .clone()
}

/// Whether an answer to `method path` (its query already stripped) is what the document says
/// for its status. Answers without a JSON body (204, 304, a runtime's bare refusal) and paths
/// the document does not describe (the 404 envelope of an unknown route) are not checked here.
pub(crate) fn check(
    method: &str,
    path: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(), String> {
    if body.is_empty() || !content_type.is_some_and(|c| c.starts_with("application/json")) {
        return Ok(());
    }
    let Some((template, item)) = path_item(path) else { return Ok(()) };
    let Some(operation) = item.get(method.to_ascii_lowercase()) else {
        return if status == 405 { Ok(()) } else { Err(format!("{method} {template} is not documented ({status})")) };
    };
    let responses = &operation["responses"];
    let Some(response) = responses.get(status.to_string()).or_else(|| responses.get("default")) else {
        return Err(format!("{method} {template} answered {status}, which the document does not list"));
    };
    let response = resolve(response);
    let Some(schema) =
        response["content"].as_object().and_then(|content| content.values().next()).map(|m| &m["schema"])
    else {
        return Err(format!("{method} {template} {status} has a body the document does not describe"));
    };
    let instance: Value =
        serde_json::from_slice(body).map_err(|e| format!("{method} {template} {status}: not JSON: {e}"))?;
    let validator = validator(&format!("{method} {template} {status}"), schema);
    let errors: Vec<String> =
        validator.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{method} {template} {status} does not match the document: {}\n{instance}", errors.join("; ")))
    }
}

/// The headers contract v1.3 puts on every answer of the app (successes, errors, 304s and
/// preflights; not the runtime's own bare refusals, which carry no `x-request-id`), so every
/// answer of every API test checks them: `nosniff`, no referrer, a CSP that forbids framing, and
/// `Cache-Control` (`private, no-cache` on revalidated message pages, else `no-store`).
pub(crate) fn check_hardening(method: &str, path: &str, status: u16, headers: &http::HeaderMap) -> Result<(), String> {
    if headers.get("x-request-id").is_none() {
        return Ok(());
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let expected = [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
    ];
    for (name, value) in expected {
        if header(name) != Some(value) {
            return Err(format!("{method} {path} {status}: {name} is {:?}, not {value:?}", header(name)));
        }
    }
    let cache = if header("etag").is_some() { "private, no-cache" } else { "no-store" };
    if header("cache-control") != Some(cache) {
        return Err(format!("{method} {path} {status}: cache-control is {:?}, not {cache:?}", header("cache-control")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    const JSON: Option<&str> = Some("application/json; charset=utf-8");

    #[test]
    fn a_body_as_documented_passes() {
        assert_eq!(check("GET", "/health", 200, JSON, br#"{"data":{"status":"ok"}}"#), Ok(()));
    }

    #[test]
    fn a_body_that_breaks_its_schema_fails() {
        assert!(check("GET", "/health", 200, JSON, br#"{"data":{"status":5}}"#).is_err());
        let room = br#"{"data":{"id":"not-a-uuid"}}"#;
        assert!(check("GET", "/api/rooms/3f6c2a1e-8b4d-4c7e-9a2f-5d1e0b7c9a48", 200, JSON, room).is_err());
    }

    #[test]
    fn a_status_the_document_does_not_list_fails() {
        let error = br#"{"ok":false,"error":"x","code":"CONFLICT"}"#;
        assert!(check("GET", "/health", 409, JSON, error).is_err());
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (http::HeaderName::from_static(name), http::HeaderValue::from_static(value)))
            .collect()
    }

    const HARDENED: [(&str, &str); 5] = [
        ("x-request-id", "r1"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
        ("cache-control", "no-store"),
    ];

    #[test]
    fn an_app_answer_without_a_hardening_header_fails() {
        assert_eq!(super::check_hardening("GET", "/health", 200, &headers(&HARDENED)), Ok(()));
        assert!(super::check_hardening("GET", "/health", 200, &headers(&HARDENED[..4])).is_err());
        let etag = [HARDENED.as_slice(), &[("etag", "\"x\"")]].concat();
        assert!(super::check_hardening("GET", "/api/rooms/x/messages", 200, &headers(&etag)).is_err());
    }

    #[test]
    fn a_runtime_answer_without_a_request_id_is_not_checked() {
        assert_eq!(super::check_hardening("GET", "/health", 400, &http::HeaderMap::new()), Ok(()));
    }

    #[test]
    fn answers_without_a_json_body_are_not_checked() {
        assert_eq!(check("GET", "/api/rooms/x/messages", 304, None, b""), Ok(()));
    }
}
