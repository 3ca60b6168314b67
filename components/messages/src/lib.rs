//! Messages: cursor-paged history (with auto-read, ETags, `replyTo`, `search` and long-polls),
//! the change feed, send (with idempotency and replies), get one, edit (with its earlier
//! versions), reactions, soft delete. Each handler parses, calls a repository and answers.

use chat::access::require_member;
use chat::changes::ChangeFeedRequest;
use chat::edits::Edit;
use chat::history::{MessagePageRequest, PageStart};
use chat::http::{delete, get, patch_json, post_json, put, ApiRequest, Routes};
use chat::long_poll::Watch;
use chat::messages::{parse_idempotency_key, NewMessage};
use chat::pagination::PageRequest;
use chat::repositories::changes::ChangeFeedRepository;
use chat::repositories::edits::EditRepository;
use chat::repositories::history::HistoryRepository;
use chat::repositories::memberships::RoomUserRepository;
use chat::repositories::messages::{MessageRepository, SendOutcome};
use chat::repositories::reactions::ReactionRepository;
use chat::response::{ChangePagination, CursorPagination};
use chat::{ApiError, Refusal, Reply};

chat::component!(routes);

fn routes() -> Routes {
    Routes::new(env!("CARGO_PKG_NAME"))
        .route("/api/rooms/:id/messages", &[get(list_messages), post_json(send_message)])
        .route(
            "/api/rooms/:id/messages/:messageId",
            &[get(get_message), patch_json(edit_message), delete(delete_message)],
        )
        .route("/api/rooms/:id/messages/:messageId/edits", &[get(list_edits)])
        .route("/api/rooms/:id/messages/:messageId/reactions/:emoji", &[put(add_reaction), delete(remove_reaction)])
        .route("/api/rooms/:id/changes", &[get(list_changes)])
}

fn list_messages(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let cursors = api.cursors();
    let request = MessagePageRequest::from_query(&api.query(), room, cursors)?;
    let page = HistoryRepository::new(api.db()?).read_page(room, api.caller.user_id, &request)??;
    let sent_after = match request.start {
        PageStart::After(_) => api.query().get("after")?.map(str::to_owned),
        _ => None,
    };
    let pagination = CursorPagination {
        limit: request.limit,
        has_more: page.has_more,
        prev_cursor: page.messages.first().filter(|_| page.has_older).map(|m| cursors.encode(room, m.seq)),
        next_cursor: page.messages.last().map(|m| cursors.encode(room, m.seq)).or(sent_after),
    };
    let nothing_new = page.messages.is_empty();
    let watch = Watch { room, seen: page.latest_change, wait: request.wait };
    let reply = Reply::list(page.messages, pagination).with_etag(api.header("if-none-match"));
    Ok(api.unless_nothing_new(watch, nothing_new, reply))
}

fn list_changes(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let request = ChangeFeedRequest::from_query(&api.query(), room, api.cursors())?;
    let page = ChangeFeedRepository::new(api.db()?).read(room, api.caller.user_id, &request)??;
    let pagination = ChangePagination {
        limit: request.limit,
        has_more: page.has_more,
        next_token: api.cursors().encode_token(room, page.next_position),
    };
    let nothing_new = page.messages.is_empty();
    let reply = Reply::list(page.messages, pagination).with_etag(api.header("if-none-match"));
    // An empty page after `since` means the room's latest change is `since`: that is what to watch.
    let watch = Watch { room, seen: request.since.unwrap_or(page.next_position), wait: request.wait };
    Ok(api.unless_nothing_new(watch, nothing_new && request.since.is_some(), reply))
}

fn send_message(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let message = NewMessage::parse(api.json()?)?;
    let idempotency_key = parse_idempotency_key(api.request.header_bytes("idempotency-key"))?;
    match MessageRepository::new(api.db()?).create(room, api.caller, &message, idempotency_key.as_deref())?? {
        SendOutcome::Created(created) => {
            let location = format!("/api/rooms/{room}/messages/{}", created.id);
            Ok(Reply::created(created, location))
        }
        SendOutcome::Replayed(original) => Ok(Reply::ok(original)),
    }
}

fn get_message(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let id = api.message_id()?;
    require_member(RoomUserRepository::new(api.db()?).access(room, api.caller.user_id)?)?;
    let message = MessageRepository::new(api.db()?).find(room, id)?.ok_or(Refusal::NotFound)?;
    Ok(Reply::ok(message))
}

fn edit_message(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let id = api.message_id()?;
    let edit = Edit::parse(api.json()?)?;
    let edited = EditRepository::new(api.db()?).edit(room, id, api.caller.user_id, &edit)??;
    Ok(Reply::ok(edited))
}

fn list_edits(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let id = api.message_id()?;
    let page = PageRequest::from_query(&api.query())?;
    let (versions, total) = EditRepository::new(api.db()?).earlier_versions(room, id, api.caller.user_id, page)??;
    Ok(Reply::list(versions, page.pagination(total)))
}

fn delete_message(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let id = api.message_id()?;
    MessageRepository::new(api.db()?).soft_delete(room, id, api.caller.user_id)??;
    Ok(Reply::no_content())
}

fn add_reaction(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let id = api.message_id()?;
    let emoji = api.emoji()?;
    let message = ReactionRepository::new(api.db()?).add(room, id, api.caller.user_id, &emoji)??;
    Ok(Reply::ok(message))
}

fn remove_reaction(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = api.room_id()?;
    let id = api.message_id()?;
    let emoji = api.emoji()?;
    ReactionRepository::new(api.db()?).remove(room, id, api.caller.user_id, &emoji)??;
    Ok(Reply::no_content())
}
