//! Rooms: list (search, filters, page pagination), create, get, update, delete.
//! Each handler parses, authorizes and calls `RoomRepository`; the rules live in `chat`.

use chat::http::{delete, get, post, put, ApiRequest, Routes};
use chat::pagination::PageRequest;
use chat::repositories::rooms::RoomRepository;
use chat::rooms::{parse_search, require_admin, NewRoom, RoomChanges, RoomFilter, RoomView};
use chat::{ApiError, Reply};
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(request: Request) -> Response {
    Routes::new()
        .route("/api/rooms", &[get(list_rooms), post(create_room)])
        .route("/api/rooms/:id", &[get(get_room), put(update_room), delete(delete_room)])
        .handle(request)
}

fn list_rooms(api: &ApiRequest) -> Result<Reply, ApiError> {
    let query = api.query();
    let page = PageRequest::from_query(&query)?;
    let filter = RoomFilter {
        caller: api.caller.user_id,
        search: parse_search(query.get("search")?)?,
        joined_only: query.flag("joined")?,
        invited_only: query.flag("invited")?,
    };
    let (rooms, total) = RoomRepository::new(api.db).find_all(&filter, page)?;
    Ok(Reply::list(rooms, page.pagination(total)))
}

fn create_room(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = NewRoom::parse(api.json()?)?;
    let created = RoomRepository::new(api.db).create(&room, api.caller)?;
    let location = format!("/api/rooms/{}", created.id);
    Ok(Reply::created(created, location))
}

fn get_room(api: &ApiRequest) -> Result<Reply, ApiError> {
    let id = api.room_id()?;
    let room = RoomRepository::new(api.db)
        .find(id, api.caller.user_id)?
        .filter(RoomView::is_visible)
        .ok_or(ApiError::NotFound)?;
    Ok(Reply::ok(room))
}

fn update_room(api: &ApiRequest) -> Result<Reply, ApiError> {
    let id = api.room_id()?;
    let changes = RoomChanges::parse(api.json()?)?;
    let rooms = RoomRepository::new(api.db);
    let updated = rooms.update(id, api.caller.user_id, &changes)?;
    let room = rooms.find(id, api.caller.user_id)?;
    if !updated {
        // Nothing matched: say why, in the contract's order (404 before 403).
        require_admin(room.as_ref())?;
        // An admin whose update matched nothing lost a race with a delete or a demotion.
        return Err(ApiError::NotFound);
    }
    Ok(Reply::ok(room.ok_or(ApiError::NotFound)?))
}

fn delete_room(api: &ApiRequest) -> Result<Reply, ApiError> {
    let id = api.room_id()?;
    let rooms = RoomRepository::new(api.db);
    if !rooms.soft_delete(id, api.caller.user_id)? {
        require_admin(rooms.find(id, api.caller.user_id)?.as_ref())?;
        // An admin whose delete matched nothing lost a race with another delete.
        return Err(ApiError::NotFound);
    }
    Ok(Reply::no_content())
}
