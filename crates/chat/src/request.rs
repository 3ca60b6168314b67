//! Reading requests: the request id, query parameters and JSON bodies, per the contract's rules.

use std::cell::RefCell;

use serde::de::DeserializeOwned;
use serde_json::Value;
use spin_sdk::http::Method;

use crate::body::{read_bounded, BodySource, MAX_BODY_BYTES};
use crate::error::{ApiError, FieldError};
use crate::long_poll::Attempts;

const MAX_REQUEST_ID_CHARS: usize = 128;

/// A request as the handlers see it: its head, read at once, and its body, read only when a
/// handler asks for it ([`HttpRequest::json`]), at most once, and never past the limit.
pub struct HttpRequest {
    method: Method,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: RefCell<Body>,
    request_id: String,
    /// Its passes through the routes (more than one when a long-poll holds it).
    pub attempts: Attempts,
}

enum Body {
    Unread(Box<dyn BodySource>),
    Read(Result<Vec<u8>, ApiError>),
    /// The endpoint declared it reads no body (`crate::http::Body::None`).
    NotForThisRoute,
}

/// Lines of one field are that field with its values joined by ", " (RFC 9110 §5.3), so a list
/// header (`If-None-Match`) is read whole, and a single-valued one given twice (a second token,
/// a second `Idempotency-Key`) is refused as malformed rather than half read.
fn combine_repeated_fields(lines: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let mut fields: Vec<(String, Vec<u8>)> = Vec::with_capacity(lines.len());
    for (name, value) in lines {
        match fields.iter_mut().find(|(known, _)| known.eq_ignore_ascii_case(&name)) {
            Some((_, combined)) => {
                combined.extend_from_slice(b", ");
                combined.extend_from_slice(&value);
            }
            None => fields.push((name, value)),
        }
    }
    fields
}

impl HttpRequest {
    /// `target` is the path with its query (`/api/rooms?page=2`); `body` is read (bounded) on
    /// the first [`HttpRequest::json`].
    pub fn new(method: Method, target: &str, headers: Vec<(String, Vec<u8>)>, body: Box<dyn BodySource>) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let headers = combine_repeated_fields(headers);
        let request_id = header_in(&headers, "x-request-id")
            .filter(|id| is_valid_request_id(id))
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        HttpRequest {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: RefCell::new(Body::Unread(body)),
            request_id,
            attempts: Attempts::default(),
        }
    }

    /// Keeps `body`, read (or refused) by the glue before the handler runs.
    pub fn set_body_read(&self, body: Result<Vec<u8>, ApiError>) {
        *self.body.borrow_mut() = Body::Read(body);
    }

    /// The declared `Content-Length`, if it is a number.
    pub fn declared_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|length| length.trim().parse().ok())
    }

    /// From now on the body is never read: its route declared none. A handler that still asks
    /// for it fails in every flavor (500), which the API tests of its route catch.
    pub(crate) fn refuse_body_reads(&self) {
        *self.body.borrow_mut() = Body::NotForThisRoute;
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    /// The first value of a header (names are case-insensitive), if it is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name).and_then(|value| std::str::from_utf8(value).ok())
    }

    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        header_bytes_in(&self.headers, name)
    }

    /// Parses the JSON body into `T` by the contract's rules (see [`parse_json_body`]).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let mut body = self.body.borrow_mut();
        if let Body::Unread(source) = &mut *body {
            *body = Body::Read(read_bounded(source.as_mut(), self.declared_length(), MAX_BODY_BYTES));
        }
        match &*body {
            Body::Read(Ok(bytes)) => parse_json_body(bytes, self.header("content-type")),
            Body::Read(Err(error)) => Err(error.clone()),
            Body::Unread(_) => Err(ApiError::Internal("the body was not read".into())),
            Body::NotForThisRoute => Err(ApiError::Internal("this route declares no body".into())),
        }
    }

    /// The client's `x-request-id` when it is 1-128 characters of `[A-Za-z0-9._-]`, else a new UUID.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
}

fn header_bytes_in<'a>(headers: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_slice())
}

fn header_in<'a>(headers: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a str> {
    header_bytes_in(headers, name).and_then(|value| std::str::from_utf8(value).ok())
}

fn is_valid_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_CHARS).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The decoded query string. Unknown parameters are ignored; a known one given twice is a 400.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        Query { pairs: form_urlencoded::parse(raw.as_bytes()).into_owned().collect() }
    }

    pub fn from_request(request: &HttpRequest) -> Query {
        Query::parse(request.query())
    }

    /// The single value of `name`, if given.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.pairs.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::invalid(name, "must be given at most once"));
        }
        Ok(first)
    }

    /// An integer parameter within `range`, or `default` when absent.
    pub fn integer_in(&self, name: &str, range: std::ops::RangeInclusive<u32>, default: u32) -> Result<u32, ApiError> {
        match self.get(name)? {
            None => Ok(default),
            Some(text) => Some(text)
                .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<u32>().ok())
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(name, format!("must be an integer from {} to {}", range.start(), range.end()))
                }),
        }
    }

    /// A `true`/`false` flag; absent means `false`.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name)? {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::invalid(name, "must be true or false")),
        }
    }
}

/// Parses a JSON body into `T`: 415 unless the `Content-Type` is JSON, 400 `INVALID_JSON` when it
/// does not parse, 400 `VALIDATION_ERROR` (with the field) for unknown fields, wrong types and a
/// body that is not an object. (Its size was checked as it was read.)
pub fn parse_json_body<T: DeserializeOwned>(body: &[u8], content_type: Option<&str>) -> Result<T, ApiError> {
    if !content_type.is_some_and(is_json_media_type) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    if !value.is_object() {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        ApiError::Validation(vec![field_error(&path, &message)])
    })
}

fn field_error(path: &str, message: &str) -> FieldError {
    if message.starts_with("unknown field `") {
        // A key "" at the top has the empty path: name the body, since a field name is never empty.
        if path.is_empty() {
            return FieldError::new("body", "has a field with an empty name, which is not a known field");
        }
        return FieldError::new(path, "is not a known field");
    }
    // serde reports a missing field at the enclosing object; name the field itself.
    if let Some(rest) = message.strip_prefix("missing field `") {
        let missing = rest.split('`').next().unwrap_or_default();
        let field = if path == "." { missing.to_owned() } else { format!("{path}.{missing}") };
        return FieldError::new(field, "is required");
    }
    let field = if path == "." { "body".to_owned() } else { path.to_owned() };
    FieldError::new(field, message)
}

/// `application/json` or any `application/*+json`, parameters (e.g. charset) allowed.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        name: String,
        is_private: Option<bool>,
    }

    fn parse(body: &str, content_type: Option<&str>) -> Result<Body, ApiError> {
        parse_json_body(body.as_bytes(), content_type)
    }

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn body_rules() {
        assert!(parse(r#"{"name":"a"}"#, Some("application/json; charset=utf-8")).is_ok());
        assert!(parse(r#"{"name":"a"}"#, Some("application/merge-patch+json")).is_ok());
        assert_eq!(parse(r#"{"name":"a"}"#, None).unwrap_err(), ApiError::UnsupportedMediaType);
        assert_eq!(parse(r#"{"name":"a"}"#, Some("text/plain")).unwrap_err(), ApiError::UnsupportedMediaType);
        assert_eq!(parse("", JSON).unwrap_err().code(), "INVALID_JSON");
        assert_eq!(parse("{\"name\":", JSON).unwrap_err().code(), "INVALID_JSON");
    }

    #[test]
    fn field_errors_name_the_field() {
        let details = |body: &str| match parse(body, JSON).unwrap_err() {
            ApiError::Validation(details) => details,
            other => panic!("{other:?}"),
        };
        assert_eq!(details(r#"{"name":"a","colour":"red"}"#)[0].field, "colour");
        assert_eq!(details(r#"{"name":5}"#)[0].field, "name");
        assert_eq!(details(r#"{"name":"a","isPrivate":"yes"}"#)[0].field, "isPrivate");
        assert_eq!(details(r#"{}"#)[0].field, "name");
        assert_eq!(details(r#"[1]"#)[0].field, "body");
    }

    #[test]
    fn a_field_with_an_empty_name_is_reported_on_the_body() {
        let error = parse(r#"{"name":"a","":1}"#, JSON).unwrap_err();
        let ApiError::Validation(details) = error else { panic!("{error:?}") };
        assert_eq!(details[0].field, "body");
        assert!(details.iter().all(|detail| !detail.field.is_empty()));
    }

    #[test]
    fn request_ids_are_kept_only_when_well_formed() {
        assert!(is_valid_request_id("abc-123_x.y"));
        assert!(!is_valid_request_id(""));
        assert!(!is_valid_request_id("has space"));
        assert!(!is_valid_request_id(&"a".repeat(129)));
        assert!(is_valid_request_id(&"a".repeat(128)));
    }

    #[test]
    fn header_names_match_whatever_their_case() {
        let headers = vec![("Content-Type".to_owned(), b"application/json".to_vec())];
        let request = HttpRequest::new(Method::Get, "/", headers, Box::new(std::collections::VecDeque::new()));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("CONTENT-TYPE"), Some("application/json"));
        assert_eq!(request.header("accept"), None);
    }

    #[test]
    fn a_header_given_on_several_lines_is_read_as_their_values_joined() {
        let line = |name: &str, value: &str| (name.to_owned(), value.as_bytes().to_vec());
        let headers = vec![line("If-None-Match", "\"a\""), line("accept", "*/*"), line("if-none-match", "\"b\"")];
        let request = HttpRequest::new(Method::Get, "/", headers, Box::new(std::collections::VecDeque::new()));
        assert_eq!(request.header("if-none-match"), Some("\"a\", \"b\""));
        assert_eq!(request.header("accept"), Some("*/*"));
    }

    #[test]
    fn query_rules() {
        let query = Query::parse("page=2&limit=x&joined=true&joined=false&search=a%25b");
        assert_eq!(query.integer_in("page", 1..=u32::MAX, 1).unwrap(), 2);
        assert!(query.integer_in("limit", 1..=100, 20).is_err());
        assert!(query.flag("joined").is_err());
        assert_eq!(query.get("search").unwrap(), Some("a%b"));
        assert_eq!(query.integer_in("missing", 1..=100, 20).unwrap(), 20);
        assert!(Query::parse("limit=0").integer_in("limit", 1..=100, 20).is_err());
        assert!(Query::parse("limit=-1").integer_in("limit", 1..=100, 20).is_err());
        assert!(Query::parse("page=1.5").integer_in("page", 1..=u32::MAX, 1).is_err());
    }
}
