//! Bearer-token authentication: HS256 JWTs verified with RustCrypto's `hmac` + `sha2`.
//!
//! The algorithm is pinned: a token whose header names anything but `HS256` (including `none`)
//! is rejected before its signature is even looked at.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

use crate::error::ApiError;
use crate::ids::UserId;

type HmacSha256 = Hmac<Sha256>;

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: i64 = 30;
/// The shortest `jwt_secret` accepted: HS256 wants a key at least as long as its output.
pub const MIN_SECRET_BYTES: usize = 32;
/// The longest display name taken from a token's `name` claim.
pub const MAX_NAME_CHARS: usize = 100;

/// How tokens are checked: the Spin variables `jwt_secret`, `jwt_issuer` and `jwt_audience`.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    secret: Vec<u8>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl AuthConfig {
    /// Builds the configuration; empty issuer or audience means "not checked".
    pub fn new(secret: &str, issuer: &str, audience: &str) -> Result<Self, ApiError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ApiError::Internal(format!(
                "the jwt_secret variable must be at least {MIN_SECRET_BYTES} bytes (it is {})",
                secret.len()
            )));
        }
        let optional = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        Ok(AuthConfig { secret: secret.as_bytes().to_vec(), issuer: optional(issuer), audience: optional(audience) })
    }

    /// Reads the Spin variables of the running component.
    pub fn from_spin_variables() -> Result<Self, ApiError> {
        let read = |name: &str| {
            spin_sdk::variables::get(name).map_err(|e| ApiError::Internal(format!("variable {name}: {e}")))
        };
        AuthConfig::new(&read("jwt_secret")?, &read("jwt_issuer")?, &read("jwt_audience")?)
    }

    /// The secret, for deriving other keys (e.g. for signing cursors).
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
}

/// The authenticated user of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    /// The token's `name` claim, when it is 1-100 characters after trimming.
    pub display_name: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iss: Option<Value>,
    aud: Option<Value>,
    name: Option<Value>,
}

/// Authenticates an `Authorization` header value.
pub fn authenticate(authorization: Option<&str>, config: &AuthConfig) -> Result<Caller, ApiError> {
    let header = authorization.ok_or(ApiError::Unauthorized("missing bearer token"))?;
    // The scheme name is case-insensitive (RFC 9110).
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized("missing bearer token"))?;
    verify(token, config, unix_now())
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Verifies a compact JWT at time `now` (seconds since the epoch).
pub fn verify(token: &str, config: &AuthConfig, now: i64) -> Result<Caller, ApiError> {
    const MALFORMED: ApiError = ApiError::Unauthorized("malformed token");
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MALFORMED);
    };
    let header: Header = decode_json(header_b64).ok_or(MALFORMED)?;
    if header.alg != "HS256" {
        return Err(ApiError::Unauthorized("unsupported token algorithm"));
    }
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| MALFORMED)?;
    let mut mac = HmacSha256::new_from_slice(&config.secret).map_err(|_| MALFORMED)?;
    mac.update(header_b64.as_bytes());
    mac.update(b".");
    mac.update(claims_b64.as_bytes());
    mac.verify_slice(&signature).map_err(|_| ApiError::Unauthorized("invalid token signature"))?;

    let claims: Claims = decode_json(claims_b64).ok_or(MALFORMED)?;
    let exp = claims.exp.as_ref().and_then(numeric_date).ok_or(ApiError::Unauthorized("token has no valid exp"))?;
    if now > exp.saturating_add(LEEWAY_SECONDS) {
        return Err(ApiError::Unauthorized("token expired"));
    }
    if let Some(nbf) = claims.nbf.as_ref() {
        let nbf = numeric_date(nbf).ok_or(ApiError::Unauthorized("token has an invalid nbf"))?;
        if now.saturating_add(LEEWAY_SECONDS) < nbf {
            return Err(ApiError::Unauthorized("token not yet valid"));
        }
    }
    if let Some(issuer) = &config.issuer {
        if claims.iss.as_ref().and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(ApiError::Unauthorized("token issuer does not match"));
        }
    }
    if let Some(audience) = &config.audience {
        let matches = match &claims.aud {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience.as_str())),
            _ => false,
        };
        if !matches {
            return Err(ApiError::Unauthorized("token audience does not match"));
        }
    }
    let user_id = claims
        .sub
        .as_ref()
        .and_then(Value::as_str)
        .and_then(UserId::parse)
        .ok_or(ApiError::Unauthorized("token sub must be a UUID"))?;
    let display_name = claims
        .name
        .as_ref()
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| (1..=MAX_NAME_CHARS).contains(&n.chars().count()))
        .map(str::to_owned);
    Ok(Caller { user_id, display_name })
}

/// A JWT NumericDate: an integer or a finite number of seconds.
fn numeric_date(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_f64().filter(|x| x.is_finite()).map(|x| x.floor() as i64))
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Signs `claims` as an HS256 JWT. Used by the `devtoken` tool and by tests; the API itself
/// never issues tokens.
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_800_000_000;
    const USER: &str = "6f9619ff-8b86-4011-b42d-00c04fc964ff";

    fn config() -> AuthConfig {
        AuthConfig::new(SECRET, "", "").unwrap()
    }

    fn token(claims: Value) -> String {
        sign_hs256(&claims, SECRET.as_bytes())
    }

    fn with_header(header: &str, claims: Value, secret: &[u8]) -> String {
        let header = URL_SAFE_NO_PAD.encode(header);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = HmacSha256::new_from_slice(secret).unwrap();
        mac.update(format!("{header}.{payload}").as_bytes());
        format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn accepts_a_valid_token() {
        let caller = verify(&token(json!({"sub": USER, "exp": NOW + 60, "name": "  Ada  "})), &config(), NOW).unwrap();
        assert_eq!(caller.user_id.to_string(), USER);
        assert_eq!(caller.display_name.as_deref(), Some("Ada"));
    }

    #[test]
    fn rejection_table() {
        let alg_none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(json!({"sub": USER, "exp": NOW + 60}).to_string())
        );
        let cases: Vec<(&str, String)> = vec![
            ("alg none", alg_none),
            ("alg HS512", with_header(r#"{"alg":"HS512"}"#, json!({"sub": USER, "exp": NOW + 60}), SECRET.as_bytes())),
            (
                "wrong secret",
                with_header(
                    r#"{"alg":"HS256"}"#,
                    json!({"sub": USER, "exp": NOW + 60}),
                    b"another-secret-another-secret-xx",
                ),
            ),
            ("expired beyond leeway", token(json!({"sub": USER, "exp": NOW - 31}))),
            ("missing exp", token(json!({"sub": USER}))),
            ("string exp", token(json!({"sub": USER, "exp": "tomorrow"}))),
            ("missing sub", token(json!({"exp": NOW + 60}))),
            ("non-UUID sub", token(json!({"sub": "alice", "exp": NOW + 60}))),
            ("nbf in the future", token(json!({"sub": USER, "exp": NOW + 600, "nbf": NOW + 31}))),
            ("two parts", "a.b".to_owned()),
            ("garbage", "not a token".to_owned()),
            ("tampered claims", {
                let t = token(json!({"sub": USER, "exp": NOW + 60}));
                let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
                parts[1] = URL_SAFE_NO_PAD.encode(json!({"sub": USER, "exp": NOW + 6000}).to_string());
                parts.join(".")
            }),
        ];
        for (case, token) in cases {
            let result = verify(&token, &config(), NOW);
            assert!(matches!(result, Err(ApiError::Unauthorized(_))), "{case}: {result:?}");
        }
    }

    #[test]
    fn leeway_is_thirty_seconds() {
        assert!(verify(&token(json!({"sub": USER, "exp": NOW - 30})), &config(), NOW).is_ok());
        assert!(verify(&token(json!({"sub": USER, "exp": NOW + 60, "nbf": NOW + 30})), &config(), NOW).is_ok());
    }

    #[test]
    fn issuer_and_audience_are_checked_when_configured() {
        let strict = AuthConfig::new(SECRET, "chat-idp", "chat-api").unwrap();
        let good = token(json!({"sub": USER, "exp": NOW + 60, "iss": "chat-idp", "aud": ["other", "chat-api"]}));
        assert!(verify(&good, &strict, NOW).is_ok());
        let wrong_iss = token(json!({"sub": USER, "exp": NOW + 60, "iss": "evil", "aud": "chat-api"}));
        assert!(verify(&wrong_iss, &strict, NOW).is_err());
        let no_aud = token(json!({"sub": USER, "exp": NOW + 60, "iss": "chat-idp"}));
        assert!(verify(&no_aud, &strict, NOW).is_err());
    }

    #[test]
    fn name_claim_is_ignored_unless_1_to_100_characters() {
        let name_of = |name: Value| {
            verify(&token(json!({"sub": USER, "exp": NOW + 60, "name": name})), &config(), NOW).unwrap().display_name
        };
        assert_eq!(name_of(json!("   ")), None);
        assert_eq!(name_of(json!("é".repeat(100))), Some("é".repeat(100)));
        assert_eq!(name_of(json!("é".repeat(101))), None);
        assert_eq!(name_of(json!(42)), None);
    }

    #[test]
    fn short_secrets_are_a_configuration_error() {
        assert!(matches!(AuthConfig::new("short", "", ""), Err(ApiError::Internal(_))));
    }

    #[test]
    fn authorization_header_must_be_a_bearer_token() {
        assert!(authenticate(None, &config()).is_err());
        assert!(authenticate(Some("Basic abc"), &config()).is_err());
        assert!(authenticate(Some("Bearer "), &config()).is_err());
        let valid = token(json!({"sub": USER, "exp": unix_now() + 60}));
        assert!(authenticate(Some(&format!("BEARER {valid}")), &config()).is_ok());
    }
}
