//! Rooms: the room a caller sees, and validated input for creating and updating one.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ApiError, FieldError};
use crate::ids::{RoomId, UserId};
use crate::request::Query;
use crate::text;

pub const NAME_MIN_CHARS: usize = 3;
pub const NAME_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 500;
pub const SEARCH_MAX_CHARS: usize = 100;

/// A member's role in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

impl<'a> crate::db::Column<'a> for Role {
    fn from_value(value: &'a crate::db::SqlValue) -> Result<Self, &'static str> {
        <&str as crate::db::Column>::from_value(value).and_then(|text| Role::parse(text).ok_or("admin or member"))
    }
}

/// A room as one caller sees it: `isMember`, `role` and `unreadCount` are the caller's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    pub id: RoomId,
    pub name: String,
    pub description: Option<String>,
    pub is_private: bool,
    pub created_by: UserId,
    pub created_at: String,
    pub updated_at: String,
    pub member_count: i64,
    pub is_member: bool,
    pub role: Option<Role>,
    pub unread_count: i64,
    pub last_message_at: Option<String>,
    /// Whether the caller holds an invitation to the room (not part of the JSON).
    #[serde(skip)]
    pub invited: bool,
}

impl RoomView {
    pub fn is_visible(&self) -> bool {
        crate::access::is_visible(self.is_private, self.is_member, self.invited)
    }
}

/// `POST /api/rooms` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateRoomBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    is_private: Option<bool>,
}

/// A room about to be created; only [`NewRoom::parse`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    name: String,
    description: Option<String>,
    is_private: bool,
}

impl NewRoom {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    pub fn is_private(&self) -> bool {
        self.is_private
    }

    pub fn parse(body: CreateRoomBody) -> Result<NewRoom, ApiError> {
        let name = text::bounded("name", &body.name, NAME_MIN_CHARS, NAME_MAX_CHARS);
        let description = text::optional_bounded("description", body.description.as_deref(), DESCRIPTION_MAX_CHARS);
        match (name, description) {
            (Ok(name), Ok(description)) => {
                Ok(NewRoom { name, description, is_private: body.is_private.unwrap_or(false) })
            }
            (name, description) => {
                Err(ApiError::Validation([name.err(), description.err()].into_iter().flatten().collect()))
            }
        }
    }
}

/// `PUT /api/rooms/:id` body: absent fields stay as they are; `description: null` clears it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateRoomBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    is_private: Option<Option<bool>>,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A validated partial update with at least one field; only [`RoomChanges::parse`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomChanges {
    name: Option<String>,
    description: Option<Option<String>>,
    is_private: Option<bool>,
}

impl RoomChanges {
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `Some(None)` clears the description; `None` keeps it.
    pub fn description(&self) -> Option<Option<&str>> {
        self.description.as_ref().map(Option::as_deref)
    }

    pub fn is_private(&self) -> Option<bool> {
        self.is_private
    }

    pub fn parse(body: UpdateRoomBody) -> Result<RoomChanges, ApiError> {
        if body.name.is_none() && body.description.is_none() && body.is_private.is_none() {
            return Err(ApiError::invalid("body", "give at least one of name, description, isPrivate"));
        }
        let mut errors: Vec<FieldError> = Vec::new();
        let name = match body.name {
            None => None,
            Some(None) => {
                errors.push(FieldError::new("name", "must be a string"));
                None
            }
            Some(Some(name)) => {
                text::bounded("name", &name, NAME_MIN_CHARS, NAME_MAX_CHARS).map_err(|e| errors.push(e)).ok()
            }
        };
        let description = match body.description {
            None => None,
            Some(description) => text::optional_bounded("description", description.as_deref(), DESCRIPTION_MAX_CHARS)
                .map_err(|e| errors.push(e))
                .ok(),
        };
        let is_private = match body.is_private {
            None => None,
            Some(None) => {
                errors.push(FieldError::new("isPrivate", "must be true or false"));
                None
            }
            Some(Some(flag)) => Some(flag),
        };
        if errors.is_empty() {
            Ok(RoomChanges { name, description, is_private })
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// Which rooms a listing shows, for whom; only [`RoomFilter::parse`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomFilter {
    caller: UserId,
    search: Option<String>,
    joined_only: bool,
    invited_only: bool,
}

impl RoomFilter {
    /// Reads `search` (at most 100 characters; empty means none), `joined` and `invited`.
    pub fn parse(query: &Query, caller: UserId) -> Result<RoomFilter, ApiError> {
        let search = text::optional_bounded("search", query.get("search")?, SEARCH_MAX_CHARS)
            .map(|s| s.map(|s| text::fold_case(&s)))
            .map_err(|e| ApiError::Validation(vec![e]))?;
        Ok(RoomFilter { caller, search, joined_only: query.flag("joined")?, invited_only: query.flag("invited")? })
    }

    pub fn caller(&self) -> UserId {
        self.caller
    }

    /// Case-folded search text; matches name or description as a literal substring.
    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    pub fn joined_only(&self) -> bool {
        self.joined_only
    }

    pub fn invited_only(&self) -> bool {
        self.invited_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(body: serde_json::Value) -> Result<NewRoom, ApiError> {
        NewRoom::parse(serde_json::from_value(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?)
    }

    fn update(body: serde_json::Value) -> Result<RoomChanges, ApiError> {
        RoomChanges::parse(serde_json::from_value(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?)
    }

    fn fields(error: ApiError) -> Vec<String> {
        match error {
            ApiError::Validation(details) => details.into_iter().map(|d| d.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn new_room_defaults_and_trimming() {
        let room = create(json!({"name": "  General  ", "description": "   "})).unwrap();
        assert_eq!((room.name(), room.description(), room.is_private()), ("General", None, false));
    }

    #[test]
    fn new_room_reports_every_invalid_field() {
        let error = create(json!({"name": "ab", "description": "x".repeat(501)})).unwrap_err();
        assert_eq!(fields(error), vec!["name", "description"]);
    }

    #[test]
    fn update_tells_null_from_absent() {
        assert_eq!(update(json!({"description": null})).unwrap().description(), Some(None));
        assert_eq!(update(json!({"isPrivate": true})).unwrap().description(), None);
        assert_eq!(fields(update(json!({})).unwrap_err()), vec!["body"]);
        assert_eq!(fields(update(json!({"name": null})).unwrap_err()), vec!["name"]);
        assert_eq!(fields(update(json!({"isPrivate": null})).unwrap_err()), vec!["isPrivate"]);
    }

    fn filter(query: &str) -> Result<RoomFilter, ApiError> {
        RoomFilter::parse(&Query::parse(query), UserId::new_random())
    }

    #[test]
    fn search_is_case_folded_and_trimmed() {
        assert_eq!(filter("search=%20%20%C3%89T%C3%89%20").unwrap().search(), Some("été"));
    }

    #[test]
    fn an_empty_search_is_no_search() {
        assert_eq!(filter("search=").unwrap().search(), None);
    }

    #[test]
    fn search_is_at_most_100_characters() {
        assert!(filter(&format!("search={}", "a".repeat(101))).is_err());
    }
}
