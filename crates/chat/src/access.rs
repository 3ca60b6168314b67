//! Room access: the one owner of who may see a room, read and write in it, and moderate it, and
//! of why a request was refused. Components and repositories ask this module; nothing else
//! decides. The same rules as SQL, for the guarded writes, are in `repositories/guards.rs`.
//!
//! The contract's order of checks: the room (404 where it does not exist or the caller may not
//! see it) → the permission (403) → the target of the call (404) → the conflict (409).

use crate::ids::UserId;
use crate::rooms::Role;

/// Private rooms are visible to their members and invitees only; public rooms to everyone.
pub fn is_visible(is_private: bool, is_member: bool, invited: bool) -> bool {
    !is_private || is_member || invited
}

/// What a caller's standing says about seeing a room and being in it: [`RoomAccess`] in full, or
/// the part a history read fetches with its page ([`ReaderAccess`]).
pub trait Standing {
    fn is_visible(&self) -> bool;
    fn is_member(&self) -> bool;
}

/// Where a reader stands in a live room: what reading its history needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderAccess {
    pub is_private: bool,
    pub role: Option<Role>,
    pub invited: bool,
    /// The reader's read marker, when the reader is a member.
    pub last_read_seq: Option<i64>,
}

impl Standing for ReaderAccess {
    fn is_visible(&self) -> bool {
        is_visible(self.is_private, self.is_member(), self.invited)
    }

    fn is_member(&self) -> bool {
        self.role.is_some()
    }
}

impl Standing for RoomAccess {
    fn is_visible(&self) -> bool {
        RoomAccess::is_visible(self)
    }

    fn is_member(&self) -> bool {
        RoomAccess::is_member(self)
    }
}

/// Where the caller stands in a live room, and where another user stands (the target of a
/// moderation call; the caller again otherwise). Read in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomAccess {
    pub is_private: bool,
    pub role: Option<Role>,
    pub invited: bool,
    pub target_role: Option<Role>,
    pub target_invited: bool,
    pub admin_count: i64,
    /// The caller's read marker, when the caller is a member.
    pub last_read_seq: Option<i64>,
}

impl RoomAccess {
    pub fn is_member(&self) -> bool {
        self.role.is_some()
    }

    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    pub fn is_visible(&self) -> bool {
        is_visible(self.is_private, self.is_member(), self.invited)
    }

    pub fn target_is_member(&self) -> bool {
        self.target_role.is_some()
    }

    pub fn target_is_invited(&self) -> bool {
        self.target_invited
    }

    /// Whether the target is the room's only admin.
    pub fn target_is_last_admin(&self) -> bool {
        self.target_role == Some(Role::Admin) && self.admin_count <= 1
    }
}

/// Why a request was refused, in the contract's terms. Each refusal has one status and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 404: the room, or the target of the call, does not exist or the caller may not see it.
    NotFound,
    /// 403 `FORBIDDEN`: the caller sees the room but lacks the permission (admins only, authors).
    Forbidden,
    /// 403 `NOT_MEMBER`: a members-only route called by someone who sees the room.
    NotMember,
    /// 409 `NOT_MEMBER`: leaving a room one is not in.
    LeavingWithoutMembership,
    /// 409 `LAST_ADMIN`.
    LastAdmin,
    /// 409 `ALREADY_MEMBER`: inviting a member.
    AlreadyMember,
    /// 409 `ROOM_NAME_TAKEN`.
    RoomNameTaken,
    /// 409 `IDEMPOTENCY_CONFLICT`: a key reused with a different body.
    IdempotencyConflict,
    /// 409 `MESSAGE_DELETED`: editing or reacting to a tombstone.
    MessageDeleted,
    /// 409 `TOO_MANY_REACTIONS`: a 21st distinct emoji on a message.
    TooManyReactions,
    /// 400 `VALIDATION_ERROR` on `replyTo`: a send answering no message of its room (the store
    /// tells, so it is found after the room and the permission).
    UnknownReplyTarget,
    /// 400 `VALIDATION_ERROR` on `content`: an edit leaving a text message empty (known once the
    /// message is found to be a text).
    EmptyTextContent,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::NotFound => 404,
            Refusal::Forbidden | Refusal::NotMember => 403,
            Refusal::LeavingWithoutMembership
            | Refusal::LastAdmin
            | Refusal::AlreadyMember
            | Refusal::RoomNameTaken
            | Refusal::IdempotencyConflict
            | Refusal::MessageDeleted
            | Refusal::TooManyReactions => 409,
            Refusal::UnknownReplyTarget | Refusal::EmptyTextContent => 400,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotFound => "NOT_FOUND",
            Refusal::Forbidden => "FORBIDDEN",
            Refusal::NotMember | Refusal::LeavingWithoutMembership => "NOT_MEMBER",
            Refusal::LastAdmin => "LAST_ADMIN",
            Refusal::AlreadyMember => "ALREADY_MEMBER",
            Refusal::RoomNameTaken => "ROOM_NAME_TAKEN",
            Refusal::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            Refusal::MessageDeleted => "MESSAGE_DELETED",
            Refusal::TooManyReactions => "TOO_MANY_REACTIONS",
            Refusal::UnknownReplyTarget | Refusal::EmptyTextContent => "VALIDATION_ERROR",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::NotFound => "not found",
            Refusal::Forbidden => "you are not allowed to do this",
            Refusal::NotMember | Refusal::LeavingWithoutMembership => "you are not a member of this room",
            Refusal::LastAdmin => "the room's last admin cannot leave, be demoted or be removed",
            Refusal::AlreadyMember => "the user is already a member of this room",
            Refusal::RoomNameTaken => "a room with this name already exists",
            Refusal::IdempotencyConflict => "this Idempotency-Key was already used with a different request",
            Refusal::MessageDeleted => "the message was deleted",
            Refusal::TooManyReactions => "a message holds at most 20 distinct emoji",
            Refusal::UnknownReplyTarget => "must be the id of a message of this room",
            Refusal::EmptyTextContent => "is required for text messages",
        }
    }
}

/// The room, if the caller may see it (`None`: no such live room).
pub fn require_visible<A: Standing>(access: Option<A>) -> Result<A, Refusal> {
    access.filter(Standing::is_visible).ok_or(Refusal::NotFound)
}

/// Members only: 404 where the room is invisible, 403 `NOT_MEMBER` where it is visible.
pub fn require_member<A: Standing>(access: Option<A>) -> Result<A, Refusal> {
    let access = require_visible(access)?;
    if access.is_member() {
        Ok(access)
    } else {
        Err(Refusal::NotMember)
    }
}

/// Admins only: 404 where the room is invisible, 403 `FORBIDDEN` where it is visible.
pub fn require_admin(access: Option<RoomAccess>) -> Result<RoomAccess, Refusal> {
    let access = require_visible(access)?;
    if access.is_admin() {
        Ok(access)
    } else {
        Err(Refusal::Forbidden)
    }
}

/// The member list: anyone who sees a public room; members only in a private one.
pub fn require_member_list_reader(access: Option<RoomAccess>) -> Result<RoomAccess, Refusal> {
    let access = require_visible(access)?;
    if access.is_private {
        require_member(Some(access))
    } else {
        Ok(access)
    }
}

/// Why an admin's change to the target (role, removal, revocation) did not apply, in the
/// contract's order: the room (404), the permission (403: admins, or the target itself when
/// `self_service`), the target (404 unless `target_exists`), the last admin (409). The
/// permission comes before the target, so a caller who may not moderate learns nothing about
/// who is a member or invited. `None` when these rules allow it: then the statement's guard and
/// these rules disagree, which is a bug, not the caller's fault.
pub fn moderation_refusal(
    access: Option<RoomAccess>,
    target_exists: fn(&RoomAccess) -> bool,
    self_service: bool,
) -> Option<Refusal> {
    let Ok(access) = require_visible(access) else {
        return Some(Refusal::NotFound);
    };
    if !(access.is_admin() || self_service) {
        return Some(Refusal::Forbidden);
    }
    if !target_exists(&access) {
        return Some(Refusal::NotFound);
    }
    access.target_is_last_admin().then_some(Refusal::LastAdmin)
}

/// Why leaving did not happen: as a removal by oneself, except that a caller who sees the room
/// but is not in it gets 409 `NOT_MEMBER`.
pub fn leave_refusal(access: Option<RoomAccess>) -> Option<Refusal> {
    match require_visible(access) {
        Ok(visible) if !visible.is_member() => Some(Refusal::LeavingWithoutMembership),
        _ => moderation_refusal(access, RoomAccess::target_is_member, true),
    }
}

/// Why deleting a message did not happen: the room (404), the permission to delete in it, which
/// members have (403 for anyone else, whether or not the message exists), the message (404,
/// `author` is `None`), then the permission on that message, which only its author or an admin
/// has (403).
pub fn message_delete_refusal(access: Option<RoomAccess>, author: Option<UserId>, caller: UserId) -> Option<Refusal> {
    let access = match require_visible(access) {
        Err(refusal) => return Some(refusal),
        Ok(access) => access,
    };
    if !access.is_member() {
        return Some(Refusal::Forbidden);
    }
    match author {
        None => Some(Refusal::NotFound),
        Some(author) if author != caller && !access.is_admin() => Some(Refusal::Forbidden),
        Some(_) => None,
    }
}

/// Why sending did not happen: the room (404), then membership (403 `NOT_MEMBER`).
pub fn send_refusal(access: Option<RoomAccess>) -> Option<Refusal> {
    require_member(access).err()
}

/// What the v1.2 message routes know of their target message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetMessage {
    pub author: UserId,
    pub deleted: bool,
}

/// Why an edit did not apply: members only, as history (404, 403 `NOT_MEMBER`), then the message
/// (404), its author alone (403 `FORBIDDEN`), then a tombstone (409 `MESSAGE_DELETED`).
pub fn edit_refusal(access: Option<RoomAccess>, message: Option<TargetMessage>, caller: UserId) -> Option<Refusal> {
    if let Err(refusal) = require_member(access) {
        return Some(refusal);
    }
    match message {
        None => Some(Refusal::NotFound),
        Some(message) if message.author != caller => Some(Refusal::Forbidden),
        Some(message) if message.deleted => Some(Refusal::MessageDeleted),
        Some(_) => None,
    }
}

/// Who reads a message's earlier versions: members only, as history, then the message (404), then
/// its author or an admin (403 `FORBIDDEN`); a tombstone's too.
pub fn edits_reader_refusal(
    access: Option<RoomAccess>,
    message: Option<TargetMessage>,
    caller: UserId,
) -> Option<Refusal> {
    let access = match require_member(access) {
        Err(refusal) => return Some(refusal),
        Ok(access) => access,
    };
    match message {
        None => Some(Refusal::NotFound),
        Some(message) if message.author != caller && !access.is_admin() => Some(Refusal::Forbidden),
        Some(_) => None,
    }
}

/// Why a reaction was not added or removed: members only, as history, then the message (404),
/// then, when adding, a tombstone (409 `MESSAGE_DELETED`).
pub fn reaction_refusal(access: Option<RoomAccess>, message: Option<TargetMessage>, adding: bool) -> Option<Refusal> {
    if let Err(refusal) = require_member(access) {
        return Some(refusal);
    }
    match message {
        None => Some(Refusal::NotFound),
        Some(message) if adding && message.deleted => Some(Refusal::MessageDeleted),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(is_private: bool, role: Option<Role>, invited: bool) -> Option<RoomAccess> {
        Some(RoomAccess {
            is_private,
            role,
            invited,
            target_role: role,
            target_invited: invited,
            admin_count: 1,
            last_read_seq: None,
        })
    }

    #[test]
    fn access_matrix() {
        use Role::*;
        // (private, role, invited) → (visible, member route, admin route, member list)
        let table = [
            (false, None, false, Ok(()), Err("NOT_MEMBER"), Err("FORBIDDEN"), Ok(())),
            (true, None, false, Err("NOT_FOUND"), Err("NOT_FOUND"), Err("NOT_FOUND"), Err("NOT_FOUND")),
            (true, None, true, Ok(()), Err("NOT_MEMBER"), Err("FORBIDDEN"), Err("NOT_MEMBER")),
            (true, Some(Member), false, Ok(()), Ok(()), Err("FORBIDDEN"), Ok(())),
            (false, Some(Admin), false, Ok(()), Ok(()), Ok(()), Ok(())),
            (true, Some(Admin), false, Ok(()), Ok(()), Ok(()), Ok(())),
        ];
        let code = |r: Result<RoomAccess, Refusal>| r.map(|_| ()).map_err(Refusal::code);
        for (private, role, invited, visible, member, admin, list) in table {
            let a = access(private, role, invited);
            assert_eq!(code(require_visible(a)), visible, "{private} {role:?} {invited}");
            assert_eq!(code(require_member(a)), member, "{private} {role:?} {invited}");
            assert_eq!(code(require_admin(a)), admin, "{private} {role:?} {invited}");
            assert_eq!(code(require_member_list_reader(a)), list, "{private} {role:?} {invited}");
        }
    }

    #[test]
    fn a_missing_room_is_not_found() {
        assert_eq!(require_visible::<RoomAccess>(None), Err(Refusal::NotFound));
    }

    #[test]
    fn each_not_member_case_has_its_own_status() {
        assert_eq!((Refusal::NotMember.status(), Refusal::NotMember.code()), (403, "NOT_MEMBER"));
        let leaving = Refusal::LeavingWithoutMembership;
        assert_eq!((leaving.status(), leaving.code()), (409, "NOT_MEMBER"));
    }

    #[test]
    fn leaving_a_visible_room_one_is_not_in_is_a_conflict() {
        assert_eq!(leave_refusal(access(false, None, false)), Some(Refusal::LeavingWithoutMembership));
    }

    #[test]
    fn the_last_admin_cannot_leave() {
        assert_eq!(leave_refusal(access(false, Some(Role::Admin), false)), Some(Refusal::LastAdmin));
    }

    #[test]
    fn a_member_may_not_delete_someone_elses_message() {
        let member = access(false, Some(Role::Member), false);
        let refusal = message_delete_refusal(member, Some(UserId::new_random()), UserId::new_random());
        assert_eq!(refusal, Some(Refusal::Forbidden));
    }

    #[test]
    fn an_admin_may_delete_anyones_message() {
        let admin = access(false, Some(Role::Admin), false);
        assert_eq!(message_delete_refusal(admin, Some(UserId::new_random()), UserId::new_random()), None);
    }

    #[test]
    fn deleting_a_missing_message_is_not_found() {
        let member = access(false, Some(Role::Member), false);
        assert_eq!(message_delete_refusal(member, None, UserId::new_random()), Some(Refusal::NotFound));
    }

    #[test]
    fn a_non_member_deleting_any_message_is_forbidden_whether_or_not_it_exists() {
        let outsider = access(false, None, false);
        assert_eq!(message_delete_refusal(outsider, None, UserId::new_random()), Some(Refusal::Forbidden));
        let author = UserId::new_random();
        assert_eq!(message_delete_refusal(outsider, Some(author), author), Some(Refusal::Forbidden));
    }

    #[test]
    fn a_non_admin_moderating_is_forbidden_whether_or_not_the_target_exists() {
        for target_exists in [RoomAccess::target_is_member as fn(&RoomAccess) -> bool, |_| false] {
            let invitee = access(true, None, true);
            assert_eq!(moderation_refusal(invitee, target_exists, false), Some(Refusal::Forbidden));
            let member = access(true, Some(Role::Member), false);
            assert_eq!(moderation_refusal(member, target_exists, false), Some(Refusal::Forbidden));
        }
    }

    #[test]
    fn an_admin_moderating_a_missing_target_gets_not_found() {
        let admin = access(false, Some(Role::Admin), false);
        assert_eq!(moderation_refusal(admin, |_| false, false), Some(Refusal::NotFound));
    }

    #[test]
    fn removing_oneself_without_being_a_member_is_not_found() {
        let outsider = access(false, None, false);
        assert_eq!(moderation_refusal(outsider, RoomAccess::target_is_member, true), Some(Refusal::NotFound));
    }
}
