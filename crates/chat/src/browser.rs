//! What browsers get with every answer (contract v1.3, "Browsers"): CORS for the origins listed in
//! the Spin variable `cors_allowed_origins`, preflights answered before authentication from the
//! route table, and the headers the OWASP REST Security Cheat Sheet asks of a JSON API. Applied in
//! one place, [`crate::http::Routes::answer`], to every answer: successes, errors, 304s and
//! preflights alike.

use crate::request::HttpRequest;
use crate::response::HttpResponse;

/// The response headers a page on another origin may read.
pub const EXPOSED_HEADERS: &str = "ETag, Location, Retry-After, x-request-id";
/// The request headers a preflight allows.
pub const ALLOWED_REQUEST_HEADERS: &str = "authorization, content-type, idempotency-key, if-none-match, x-request-id";
/// Seconds a browser may keep a preflight's answer.
pub const PREFLIGHT_MAX_AGE_SECONDS: &str = "600";
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
/// Answers with an `ETag` (message pages) are revalidated, never reused unchecked; all others
/// (tokens' answers among them) are kept out of every cache.
pub const CACHE_REVALIDATED: &str = "private, no-cache";
pub const CACHE_NEVER: &str = "no-store";

/// The origins allowed to call the API from a browser. Empty: no CORS header at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    origins: Vec<String>,
}

/// An entry of `cors_allowed_origins` that is not an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOrigin(pub String);

impl std::fmt::Display for InvalidOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cors_allowed_origins: {:?} is not an origin (scheme://host[:port], as a browser sends it)", self.0)
    }
}

impl CorsPolicy {
    /// The comma-separated list of `cors_allowed_origins`. Each entry must be an `http` or `https`
    /// origin exactly as a browser serializes it in `Origin` (lower case, no path, no default
    /// port), since requests are matched byte for byte; `*` is refused like any non-origin.
    pub fn parse(list: &str) -> Result<CorsPolicy, InvalidOrigin> {
        let origins = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let is_origin = url::Url::parse(entry).is_ok_and(|url| {
                    matches!(url.scheme(), "http" | "https") && url.origin().ascii_serialization() == entry
                });
                if is_origin {
                    Ok(entry.to_owned())
                } else {
                    Err(InvalidOrigin(entry.to_owned()))
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(CorsPolicy { origins })
    }

    fn allows(&self, origin: Option<&str>) -> bool {
        origin.is_some_and(|origin| self.origins.iter().any(|allowed| allowed == origin))
    }
}

/// What kind of answer the headers go on.
pub enum Answer<'a> {
    /// The answer to a CORS preflight on a route serving `methods` (e.g. `GET, POST`).
    Preflight { methods: &'a [String] },
    /// Any other answer.
    Regular,
}

/// Whether `request` is a CORS preflight: `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`.
pub fn is_preflight(request: &HttpRequest) -> bool {
    request.header("origin").is_some() && request.header("access-control-request-method").is_some()
}

/// Adds the CORS and hardening headers to `response`, the answer to `request`.
pub fn add_headers(response: &mut HttpResponse, request: &HttpRequest, policy: &CorsPolicy, answer: Answer) {
    let origin = request.header("origin");
    let mut add = |name: &str, value: &str| response.headers.push((name.to_owned(), value.to_owned()));
    if policy.allows(origin) {
        let origin = origin.unwrap_or_default();
        match answer {
            Answer::Preflight { methods } => {
                let asked = request.header("access-control-request-method").unwrap_or_default();
                if methods.iter().any(|method| method == asked) {
                    add("access-control-allow-origin", origin);
                    add("access-control-allow-methods", &methods.join(", "));
                    add("access-control-allow-headers", ALLOWED_REQUEST_HEADERS);
                    add("access-control-max-age", PREFLIGHT_MAX_AGE_SECONDS);
                }
            }
            Answer::Regular => {
                add("access-control-allow-origin", origin);
                add("access-control-expose-headers", EXPOSED_HEADERS);
            }
        }
    }
    if !policy.origins.is_empty() {
        add("vary", "Origin");
    }
    add("x-content-type-options", "nosniff");
    add("referrer-policy", "no-referrer");
    add("content-security-policy", CONTENT_SECURITY_POLICY);
    let cache = if response.header("etag").is_some() { CACHE_REVALIDATED } else { CACHE_NEVER };
    response.headers.push(("cache-control".to_owned(), cache.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::{CorsPolicy, InvalidOrigin};

    fn origins(list: &str) -> Result<Vec<String>, InvalidOrigin> {
        CorsPolicy::parse(list).map(|policy| policy.origins)
    }

    #[test]
    fn a_list_of_origins_is_read_trimmed_and_in_order() {
        let list = " https://chat.example.com ,http://localhost:5173,https://[::1]:8443,";
        assert_eq!(origins(list).unwrap(), ["https://chat.example.com", "http://localhost:5173", "https://[::1]:8443"]);
    }

    #[test]
    fn an_empty_list_allows_no_origin() {
        assert_eq!(origins("").unwrap(), Vec::<String>::new());
        assert_eq!(origins(" , ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn entries_a_browser_would_never_send_as_origin_are_refused() {
        for entry in [
            "*",
            "null",
            "chat.example.com",
            "https://chat.example.com/",
            "https://chat.example.com/app",
            "https://chat.example.com?x=1",
            "https://Chat.Example.com",
            "https://chat.example.com:443",
            "https://user@chat.example.com",
            "ftp://chat.example.com",
            "file:///etc",
        ] {
            assert_eq!(
                origins(&format!("https://ok.example, {entry}")),
                Err(InvalidOrigin(entry.to_owned())),
                "{entry}"
            );
        }
    }

    #[test]
    fn an_origin_is_matched_byte_for_byte() {
        let policy = CorsPolicy::parse("https://chat.example.com").unwrap();
        assert!(policy.allows(Some("https://chat.example.com")));
        assert!(!policy.allows(Some("https://chat.example.com.evil.net")));
        assert!(!policy.allows(Some("http://chat.example.com")));
        assert!(!policy.allows(None));
    }
}
