//! `spin-test-host serve`: the app behind HTTP on this machine, for trying it with curl and for
//! load tests. Test infrastructure: users run the app with `spin up`.
//!
//! ```text
//! spin-test-host serve [--manifest spin.toml] [--listen 127.0.0.1:3000] [--state-dir .spin]
//! ```
//! The `default` database is `<state-dir>/sqlite_db.db`, as with `spin up`. Variables come from
//! `SPIN_VARIABLE_<NAME>`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use spin_test_host::{App, AppOptions, DatabaseLocation};

struct Args {
    manifest: PathBuf,
    listen: SocketAddr,
    state_dir: PathBuf,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("serve") {
        bail!("usage: spin-test-host serve [--manifest spin.toml] [--listen 127.0.0.1:3000] [--state-dir .spin]");
    }
    let mut parsed =
        Args { manifest: "spin.toml".into(), listen: "127.0.0.1:3000".parse()?, state_dir: ".spin".into() };
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--manifest" => parsed.manifest = value.into(),
            "--listen" => parsed.listen = value.parse().context("--listen takes host:port")?,
            "--state-dir" => parsed.state_dir = value.into(),
            other => bail!("unknown option {other}"),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.state_dir)?;
    let options = AppOptions {
        database: DatabaseLocation::File(args.state_dir.join("sqlite_db.db")),
        forward_logs: true,
        ..AppOptions::default()
    };
    let app = App::load(&args.manifest, options)?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!("Serving http://{} (test host; database {})", listener.local_addr()?, app.sqlite().path().display());
    spin_test_host::serve::serve(app, listener).await?;
    Ok(())
}
