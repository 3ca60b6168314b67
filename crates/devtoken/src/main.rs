//! Mints a development JWT (HS256) for calling the API locally.
//!
//! ```text
//! cargo run -p devtoken -- --user <uuid> [--name "Ada"] [--ttl 3600] [--issuer I] [--audience A]
//! ```
//! The key is `SPIN_VARIABLE_JWT_SECRET`, the same variable `spin up` reads; without `--user`,
//! a random user id is used. The token goes to stdout, so `TOKEN=$(cargo run -q -p devtoken -- ...)`.
//!
//! `cargo run -p devtoken -- libsql-credentials` instead prints a fresh Ed25519 key pair's public
//! half for the libSQL server (`SQLD_AUTH_JWT_KEY`) and a token signed with it for the app (the
//! private key is not kept): the two values of the `chat-rooms-libsql` Secret in k8s/.

use std::time::{SystemTime, UNIX_EPOCH};

use chat::auth::{sign_hs256, MIN_SECRET_BYTES};
use chat::ids::UserId;
use serde_json::json;

fn main() {
    if let Err(message) = run() {
        eprintln!("devtoken: {message}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    if std::env::args().nth(1).as_deref() == Some("libsql-credentials") {
        return libsql_credentials();
    }
    let secret = std::env::var("SPIN_VARIABLE_JWT_SECRET").map_err(|_| "set SPIN_VARIABLE_JWT_SECRET".to_owned())?;
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!("SPIN_VARIABLE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"));
    }
    let mut user = UserId::new_random();
    let mut claims = json!({});
    let mut ttl: u64 = 3600;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--user" => user = UserId::parse(&value).ok_or("--user must be a UUID")?,
            "--name" => claims["name"] = json!(value),
            "--ttl" => ttl = value.parse().map_err(|_| "--ttl takes seconds")?,
            "--issuer" => claims["iss"] = json!(value),
            "--audience" => claims["aud"] = json!(value),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs();
    claims["sub"] = json!(user.to_string());
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + ttl);
    println!("{}", sign_hs256(&claims, secret.as_bytes()));
    Ok(())
}

/// Prints `jwt-public-key` and `token` for the `chat-rooms-libsql` Secret.
fn libsql_credentials() -> Result<(), String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use ed25519_dalek::{Signer, SigningKey};

    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(json!({"a": "rw", "iat": now}).to_string());
    let signing_input = format!("{header}.{claims}");
    let signature = URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes()).to_bytes());
    println!("jwt-public-key: {}", URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()));
    println!("token: {signing_input}.{signature}");
    Ok(())
}
