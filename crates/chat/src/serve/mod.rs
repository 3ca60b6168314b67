//! The one place the flavor of Spin's HTTP interface is chosen (the `wasip3` cargo feature): how
//! a component is exported, how its request reaches [`Routes::answer`](crate::http::Routes::answer)
//! and how the answer goes back. Everything above this module is the same in both flavors.
//!
//! - WASIp2 (`wasi:http/incoming-handler@0.2.0`, `spin.toml`): any Spin 3.x and 4.x; each
//!   request gets a fresh instance.
//! - WASIp3 (`wasi:http/handler@0.3.0-rc-2026-01-06`, `spin-wasip3.toml`): Spin 3.6.x only, the
//!   Spin inside SpinKube's containerd-shim-spin v0.24; an instance serves up to 128 requests,
//!   16 at once, so what [`crate::db::SpinDatabase::instance`] and
//!   [`crate::config::AppConfig::instance`] keep serves many requests.
//!
//! A component declares its routes and names them once: `chat::component!(routes);`.
//! Moving to Spin 4's WASIp3 (spin-sdk 6/7) is a change of this module.

#[cfg(not(feature = "wasip3"))]
pub mod wasip2;
#[cfg(not(feature = "wasip3"))]
pub use wasip2::answer;

#[cfg(feature = "wasip3")]
mod ticker;
#[cfg(feature = "wasip3")]
pub mod wasip3;
#[cfg(feature = "wasip3")]
pub use wasip3::answer;
