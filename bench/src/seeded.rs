//! What `seed` puts in a store, so `loadtest --probe` can find it again: sizes per profile and
//! the ids, all derived from the seed.

/// The sizes of a seeded store.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: &'static str,
    pub rooms: i64,
    pub users: i64,
    pub messages: i64,
    /// Messages in room 0, the big room every user is in; the rest are spread over the others.
    pub big_room_messages: i64,
    /// Rooms each user joins besides the big room.
    pub rooms_per_user: i64,
}

pub const PROFILES: [Profile; 3] = [
    Profile { name: "small", rooms: 1_000, users: 100, messages: 10_000, big_room_messages: 5_000, rooms_per_user: 5 },
    Profile {
        name: "default",
        rooms: 10_000,
        users: 1_000,
        messages: 100_000,
        big_room_messages: 50_000,
        rooms_per_user: 10,
    },
    Profile {
        name: "large",
        rooms: 100_000,
        users: 10_000,
        messages: 1_000_000,
        big_room_messages: 500_000,
        rooms_per_user: 10,
    },
];

/// Messages of room 1, the search room, in every profile (besides its share of the others).
pub const SEARCH_ROOM_MESSAGES: i64 = 50_000;

pub fn profile(name: &str) -> Option<Profile> {
    PROFILES.iter().copied().find(|p| p.name == name)
}

/// The SQL `printf` pattern of seeded ids of `kind` (1 users, 2 rooms, 3 messages): UUIDs whose
/// first group is the seed and last group the index.
pub fn id_pattern(kind: u16) -> String {
    format!("%08x-{kind:04x}-4000-8000-%012x")
}

pub fn user_id(seed: u32, index: i64) -> String {
    format!("{seed:08x}-0001-4000-8000-{index:012x}")
}

pub fn room_id(seed: u32, index: i64) -> String {
    format!("{seed:08x}-0002-4000-8000-{index:012x}")
}
