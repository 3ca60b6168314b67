//! The room access rules of [`crate::access`] as SQL, each written once, for the statements that
//! carry their own guards: SQLite and libSQL run a statement under the write lock, so a rule
//! checked inside the write cannot be broken between a check and the write. And the way such a
//! write explains a refusal: inside the same transaction, with [`crate::access`]'s rules.
//!
//! Each fragment takes the SQL for the room id and the user id (`"?1"`, `"r.id"`); their own
//! aliases (`guard_*`) never shadow the caller's.

use crate::access::Refusal;
use crate::db::{transaction, Database, DbError};

/// The room is live (not soft-deleted).
macro_rules! room_is_live {
    ($room:literal) => {
        concat!("EXISTS (SELECT 1 FROM rooms guard_r WHERE guard_r.id = ", $room, " AND guard_r.deleted_at IS NULL)")
    };
}

/// The user is a member of the room.
macro_rules! is_member {
    ($room:literal, $user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM memberships guard_m WHERE guard_m.room_id = ",
            $room,
            " AND guard_m.user_id = ",
            $user,
            ")"
        )
    };
}

/// The user is an admin of the room.
macro_rules! is_admin {
    ($room:literal, $user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM memberships guard_a WHERE guard_a.room_id = ",
            $room,
            " AND guard_a.user_id = ",
            $user,
            " AND guard_a.role = 'admin')"
        )
    };
}

/// The user holds an invitation to the room.
macro_rules! is_invited {
    ($room:literal, $user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM invitations guard_i WHERE guard_i.room_id = ",
            $room,
            " AND guard_i.user_id = ",
            $user,
            ")"
        )
    };
}

/// The message is one of the room's (a tombstone too).
macro_rules! is_message_of {
    ($room:literal, $message:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM messages guard_t WHERE guard_t.id = ",
            $message,
            " AND guard_t.room_id = ",
            $room,
            ")"
        )
    };
}

/// Removing or demoting the row's member leaves the room an admin: the row is not an admin's,
/// or another admin exists. Used in `WHERE` clauses on `memberships`.
macro_rules! keeps_an_admin {
    ($room:literal) => {
        concat!(
            "(role <> 'admin' OR (SELECT count(*) FROM memberships guard_k WHERE guard_k.room_id = ",
            $room,
            " AND guard_k.role = 'admin') > 1)"
        )
    };
}

pub(crate) use {is_admin, is_invited, is_member, is_message_of, keeps_an_admin, room_is_live};

/// Runs a write whose statement carries its own guards. On the hot path that is one statement.
/// When the guards refuse, the write is tried again and the refusal explained inside one
/// `BEGIN IMMEDIATE` transaction, so the explanation describes the state the write saw (a
/// concurrent change cannot turn a 409 into a 500). `explain` answers `None` when the rules
/// allow what the guards refused: a bug, reported as an internal error.
pub(crate) fn guarded_write<T>(
    db: &dyn Database,
    write: impl Fn(&dyn Database) -> Result<Option<T>, DbError>,
    explain: impl FnOnce(&dyn Database) -> Result<Option<Refusal>, DbError>,
) -> Result<Result<T, Refusal>, DbError> {
    if let Some(done) = write(db)? {
        return Ok(Ok(done));
    }
    transaction(db, |tx| match write(tx)? {
        Some(done) => Ok(Ok(done)),
        None => match explain(tx)? {
            Some(refusal) => Ok(Err(refusal)),
            None => Err(DbError::Other("a guarded write was refused although the access rules allow it".into())),
        },
    })
}

/// A UNIQUE violation as the route's refusal (`ROOM_NAME_TAKEN`); other failures stay errors.
pub(crate) fn refuse_on_unique<T>(
    outcome: Result<Result<T, Refusal>, DbError>,
    refusal: Refusal,
) -> Result<Result<T, Refusal>, DbError> {
    match outcome {
        Err(DbError::UniqueViolation(_)) => Ok(Err(refusal)),
        other => other,
    }
}
