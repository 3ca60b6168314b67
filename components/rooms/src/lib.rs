//! Rooms: list (search, filters, page pagination), create, get, update, delete.
//! Each handler parses, calls `RoomRepository` and answers; the rules live in `chat`.

use chat::http::{delete, get, post_json, put_json, ApiRequest, Routes};
use chat::pagination::PageRequest;
use chat::repositories::rooms::RoomRepository;
use chat::rooms::{NewRoom, RoomChanges, RoomFilter, RoomView};
use chat::{ApiError, Refusal, Reply};

chat::component!(routes);

fn routes() -> Routes {
    Routes::new(env!("CARGO_PKG_NAME"))
        .route("/api/rooms", &[get(list_rooms), post_json(create_room)])
        .route("/api/rooms/:id", &[get(get_room), put_json(update_room), delete(delete_room)])
}

fn list_rooms(api: &ApiRequest) -> Result<Reply, ApiError> {
    let query = api.query();
    let page = PageRequest::from_query(&query)?;
    let filter = RoomFilter::parse(&query, api.caller.user_id)?;
    let (rooms, total) = RoomRepository::new(api.db()?).find_all(&filter, page)?;
    Ok(Reply::list(rooms, page.pagination(total)))
}

fn create_room(api: &ApiRequest) -> Result<Reply, ApiError> {
    let room = NewRoom::parse(api.json()?)?;
    let created = RoomRepository::new(api.db()?).create(&room, api.caller)??;
    let location = format!("/api/rooms/{}", created.id);
    Ok(Reply::created(created, location))
}

fn get_room(api: &ApiRequest) -> Result<Reply, ApiError> {
    let id = api.room_id()?;
    let room = RoomRepository::new(api.db()?).find(id, api.caller.user_id)?.filter(RoomView::is_visible);
    Ok(Reply::ok(room.ok_or(Refusal::NotFound)?))
}

fn update_room(api: &ApiRequest) -> Result<Reply, ApiError> {
    let id = api.room_id()?;
    let changes = RoomChanges::parse(api.json()?)?;
    let room = RoomRepository::new(api.db()?).update(id, api.caller.user_id, &changes)??;
    Ok(Reply::ok(room))
}

fn delete_room(api: &ApiRequest) -> Result<Reply, ApiError> {
    let id = api.room_id()?;
    RoomRepository::new(api.db()?).soft_delete(id, api.caller.user_id)??;
    Ok(Reply::no_content())
}
