//! Membership: join, leave, the member list, moderation (roles, removal) and invitations.
//! Each handler parses, calls `RoomUserRepository` / `InvitationRepository` and answers.

use chat::access::{require_admin, require_member_list_reader};
use chat::http::{delete, get, post, post_json, put_json, ApiRequest, Routes};
use chat::membership::{InvitationBody, RoleBody};
use chat::pagination::PageRequest;
use chat::repositories::invitations::{InvitationRepository, InviteOutcome};
use chat::repositories::memberships::{JoinOutcome, RoomUserRepository};
use chat::{ApiError, Refusal, Reply};

chat::component!(routes);

fn routes() -> Routes {
    Routes::new(env!("CARGO_PKG_NAME"))
        .route("/api/rooms/:id/join", &[post(join)])
        .route("/api/rooms/:id/leave", &[post(leave)])
        .route("/api/rooms/:id/members", &[get(list_members)])
        .route("/api/rooms/:id/members/:userId", &[put_json(change_role), delete(remove_member)])
        .route("/api/rooms/:id/invitations", &[post_json(invite), get(list_invitations)])
        .route("/api/rooms/:id/invitations/:userId", &[delete(revoke_invitation)])
}

/// Join takes no body: whatever is sent is ignored.
fn join(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    match RoomUserRepository::new(api.db()?).join(room, api.caller)? {
        Some(JoinOutcome::Joined(membership)) => Ok(Reply::with_status(201, membership)),
        Some(JoinOutcome::AlreadyMember(membership)) => Ok(Reply::ok(membership)),
        None => Err(Refusal::NotFound.into()),
    }
}

/// Leave takes no body. Not a member → 409 `NOT_MEMBER` (404 where the room is invisible).
fn leave(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    RoomUserRepository::new(api.db()?).leave(room, api.caller.user_id)??;
    Ok(Reply::no_content())
}

fn list_members(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let page = PageRequest::from_query(&api.query())?;
    let members = RoomUserRepository::new(api.db()?);
    require_member_list_reader(members.access(room, api.caller.user_id)?)?;
    let (list, total) = members.members(room, page)?;
    Ok(Reply::list(list, page.pagination(total)))
}

fn change_role(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let target = api.user_id()?;
    let body: RoleBody = api.json()?;
    let membership = RoomUserRepository::new(api.db()?).set_role(room, target, api.caller.user_id, body.role)??;
    Ok(Reply::ok(membership))
}

fn remove_member(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let target = api.user_id()?;
    RoomUserRepository::new(api.db()?).remove(room, target, api.caller.user_id)??;
    Ok(Reply::no_content())
}

fn invite(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let body: InvitationBody = api.json()?;
    let invitee = body.user_id()?;
    match InvitationRepository::new(api.db()?).invite(room, invitee, api.caller.user_id)?? {
        InviteOutcome::Invited(invitation) => Ok(Reply::with_status(201, invitation)),
        InviteOutcome::AlreadyInvited(invitation) => Ok(Reply::ok(invitation)),
    }
}

fn list_invitations(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let page = PageRequest::from_query(&api.query())?;
    require_admin(RoomUserRepository::new(api.db()?).access(room, api.caller.user_id)?)?;
    let (list, total) = InvitationRepository::new(api.db()?).list(room, page)?;
    Ok(Reply::list(list, page.pagination(total)))
}

fn revoke_invitation(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let invitee = api.user_id()?;
    InvitationRepository::new(api.db()?).revoke(room, invitee, api.caller.user_id)??;
    Ok(Reply::no_content())
}
