//! The app's configuration, read from Spin variables once per instance: a WASIp2 instance serves
//! one request, a WASIp3 instance up to 128, and each `variables::get` is a host call (three of
//! them cost a fifth of a `/health` under Spin). A variable provider that rotates a value
//! (Vault, Azure Key Vault) reaches new instances, so within seconds under load.

use std::cell::OnceCell;
use std::rc::Rc;

use crate::auth::AuthConfig;
use crate::browser::CorsPolicy;
use crate::cursor::CursorCodec;
use crate::error::ApiError;

/// What every authenticated request needs: how tokens are checked, and the cursor key derived
/// from the same secret.
pub struct AppConfig {
    pub auth: AuthConfig,
    pub cursors: CursorCodec,
}

thread_local! {
    static INSTANCE_CONFIG: OnceCell<Rc<AppConfig>> = const { OnceCell::new() };
    static INSTANCE_CORS: OnceCell<Rc<CorsPolicy>> = const { OnceCell::new() };
}

impl AppConfig {
    pub fn new(auth: AuthConfig) -> AppConfig {
        let cursors = CursorCodec::new(auth.secret());
        AppConfig { auth, cursors }
    }

    /// This instance's configuration, read now if it has none. A failure (a missing or too
    /// short `jwt_secret`) is not kept: the next request reads the variables again.
    pub fn instance() -> Result<Rc<AppConfig>, ApiError> {
        if let Some(config) = INSTANCE_CONFIG.with(|kept| kept.get().cloned()) {
            return Ok(config);
        }
        let config = Rc::new(AppConfig::new(AuthConfig::from_spin_variables()?));
        Ok(INSTANCE_CONFIG.with(|kept| kept.get_or_init(|| config).clone()))
    }
}

/// This instance's CORS policy (`cors_allowed_origins`), read now if it has none. An invalid list
/// is not kept and never half-applied: answers then carry no CORS header, and `/ready` answers
/// 503 `NOT_READY` with the offending entry in its log line.
pub fn cors_policy() -> Result<Rc<CorsPolicy>, ApiError> {
    if let Some(policy) = INSTANCE_CORS.with(|kept| kept.get().cloned()) {
        return Ok(policy);
    }
    let list = spin_sdk::variables::get("cors_allowed_origins")
        .map_err(|e| ApiError::NotReady(format!("variable cors_allowed_origins: {e}")))?;
    let policy = Rc::new(CorsPolicy::parse(&list).map_err(|invalid| ApiError::NotReady(invalid.to_string()))?);
    Ok(INSTANCE_CORS.with(|kept| kept.get_or_init(|| policy).clone()))
}
