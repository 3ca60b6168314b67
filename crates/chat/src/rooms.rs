//! Rooms: the room a caller sees, and validated input for creating and updating one.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ApiError, FieldError};
use crate::ids::{RoomId, UserId};
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
    /// Public rooms are visible to everyone; private ones to members and invitees only.
    pub fn is_visible(&self) -> bool {
        !self.is_private || self.is_member || self.invited
    }

    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }
}

/// Answers 404 for a room the caller may not see, 403 unless the caller is its admin.
pub fn require_admin(room: Option<&RoomView>) -> Result<&RoomView, ApiError> {
    let room = room.filter(|r| r.is_visible()).ok_or(ApiError::NotFound)?;
    if room.is_admin() {
        Ok(room)
    } else {
        Err(ApiError::Forbidden)
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
    pub name: String,
    pub description: Option<String>,
    pub is_private: bool,
}

impl NewRoom {
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

/// A validated partial update with at least one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomChanges {
    pub name: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub is_private: Option<bool>,
}

impl RoomChanges {
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

/// Which rooms a listing shows, for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomFilter {
    pub caller: UserId,
    /// Case-folded search text; matches name or description as a literal substring.
    pub search: Option<String>,
    pub joined_only: bool,
    pub invited_only: bool,
}

/// Validates the `search` query parameter: at most 100 characters; empty means no search.
pub fn parse_search(search: Option<&str>) -> Result<Option<String>, ApiError> {
    text::optional_bounded("search", search, SEARCH_MAX_CHARS)
        .map(|s| s.map(|s| text::fold_case(&s)))
        .map_err(|e| ApiError::Validation(vec![e]))
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
        assert_eq!(room, NewRoom { name: "General".into(), description: None, is_private: false });
    }

    #[test]
    fn new_room_reports_every_invalid_field() {
        let error = create(json!({"name": "ab", "description": "x".repeat(501)})).unwrap_err();
        assert_eq!(fields(error), vec!["name", "description"]);
    }

    #[test]
    fn update_tells_null_from_absent() {
        assert_eq!(update(json!({"description": null})).unwrap().description, Some(None));
        assert_eq!(update(json!({"isPrivate": true})).unwrap().description, None);
        assert_eq!(fields(update(json!({})).unwrap_err()), vec!["body"]);
        assert_eq!(fields(update(json!({"name": null})).unwrap_err()), vec!["name"]);
        assert_eq!(fields(update(json!({"isPrivate": null})).unwrap_err()), vec!["isPrivate"]);
    }

    #[test]
    fn search_is_bounded_and_case_folded() {
        assert_eq!(parse_search(Some("  ÉTÉ ")).unwrap(), Some("été".into()));
        assert_eq!(parse_search(Some("")).unwrap(), None);
        assert!(parse_search(Some(&"a".repeat(101))).is_err());
    }
}
