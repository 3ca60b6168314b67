//! Any `Authorization` header value: authenticates or is refused with 401, never panics.
#![no_main]

use chat::auth::{verify, AuthConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else { return };
    let config = AuthConfig::new("fuzz-secret-fuzz-secret-fuzz-secret!", "issuer", "audience").expect("a long secret");
    if let Err(error) = verify(header, &config, 1_800_000_000) {
        assert_eq!(error.status(), 401, "{error:?}");
    }
});
