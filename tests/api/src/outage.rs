//! The store made unreachable, by each mode's own means, until the outage is dropped: the test
//! host's switch; under `spin up` the local SQLite file moved aside with a directory in its
//! place (Spin can neither open nor create it, even as root); on sqld (the SpinKube topology and
//! the shim) sqld killed with SIGKILL, as a crash, and started again on the same address and data.
//!
//! The WASIp3 flavor keeps a connection per instance, and an open SQLite file survives a
//! rename: an instance that opened the store before the file was moved goes on serving from it
//! until Spin drops the instance (after 1 s idle, or 128 requests). So under `spin up` the test
//! first takes the store's write lock (`BEGIN IMMEDIATE` through the file's own path, so on its
//! WAL index): a write on a connection that stays open then fails after Spin's 5 s busy
//! timeout, as when another writer holds the store. With the WASIp3 flavor the outage also waits
//! until idle instances are dropped, so a read that follows opens the store afresh and fails.
//! (sqld killed fails every connection at once.)

use std::path::PathBuf;
use std::time::Duration;

use crate::{Flavor, Mode, Replica, Store, TestApp};

/// Longer than Spin's `--idle-instance-timeout` (1 s by default), after which it drops an idle
/// WASIp3 instance and its connection.
const WASIP3_INSTANCE_IDLE_OUT: Duration = Duration::from_millis(1500);

pub struct StoreOutage<'a> {
    app: &'a TestApp,
    /// Under `spin up`: the connection holding the store's write lock.
    write_lock: Option<rusqlite::Connection>,
}

impl TestApp {
    /// Takes the store down now; it comes back when the returned outage is dropped.
    pub fn take_store_down(&self) -> StoreOutage<'_> {
        let mut write_lock = None;
        match self.mode {
            Mode::Host => self.set_host_stores_available(false),
            Mode::Spin => {
                let file = self.store_file();
                let lock = rusqlite::Connection::open(&file).expect("opening the store to lock it");
                lock.execute_batch("BEGIN IMMEDIATE").expect("taking the store's write lock");
                write_lock = Some(lock);
                // The directory takes the file's place in one step: a request opening the path
                // between a rename and a mkdir would create a fresh, empty store there.
                std::fs::create_dir(moved_aside(&file)).expect("a directory for the database file's place");
                exchange(&file, &moved_aside(&file)).expect("swapping the database file for a directory");
                if Flavor::current() == Flavor::Wasip3 {
                    std::thread::sleep(WASIP3_INSTANCE_IDLE_OUT);
                }
            }
            Mode::SpinKube | Mode::Shim => self.deployment().kill_sqld(),
        }
        StoreOutage { app: self, write_lock }
    }

    fn set_host_stores_available(&self, available: bool) {
        for replica in &self.replicas {
            if let Replica::Host(app) = replica {
                app.sqlite().set_available(available);
            }
        }
    }

    fn store_file(&self) -> PathBuf {
        match &self.store {
            Store::File(path) => path.clone(),
            Store::Sqld { .. } => unreachable!("a local store under spin up"),
        }
    }
}

fn moved_aside(file: &std::path::Path) -> PathBuf {
    file.with_extension("db.away")
}

/// Swaps two paths atomically (Linux `renameat2` with `RENAME_EXCHANGE`).
fn exchange(one: &std::path::Path, other: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path =
        |path: &std::path::Path| std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (one, other) = (c_path(one)?, c_path(other)?);
    // SAFETY: both are NUL-terminated paths that live across the call.
    let done =
        unsafe { libc::renameat2(libc::AT_FDCWD, one.as_ptr(), libc::AT_FDCWD, other.as_ptr(), libc::RENAME_EXCHANGE) };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Drop for StoreOutage<'_> {
    fn drop(&mut self) {
        match self.app.mode {
            Mode::Host => self.app.set_host_stores_available(true),
            Mode::Spin => {
                if let Some(lock) = self.write_lock.take() {
                    let _ = lock.execute_batch("ROLLBACK");
                }
                let file = self.app.store_file();
                if exchange(&file, &moved_aside(&file)).is_ok() {
                    let _ = std::fs::remove_dir(moved_aside(&file));
                }
            }
            Mode::SpinKube | Mode::Shim => self.app.deployment().restart_sqld(),
        }
    }
}
