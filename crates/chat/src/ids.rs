//! Typed ids. Each is a UUID shown in canonical lowercase hyphenated form.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// Parses the canonical hyphenated form (any case); braces, URNs and the simple form are not ids here.
fn parse_uuid(text: &str) -> Option<Uuid> {
    if text.len() != 36 {
        return None;
    }
    Uuid::try_parse(text).ok()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new_random() -> Self {
                $name(Uuid::new_v4())
            }

            pub fn parse(text: &str) -> Option<Self> {
                parse_uuid(text).map($name)
            }

            /// Parses a path or body parameter, answering 400 `VALIDATION_ERROR` for `field`.
            pub fn parse_param(text: &str, field: &str) -> Result<Self, ApiError> {
                Self::parse(text).ok_or_else(|| ApiError::invalid(field, "must be a UUID"))
            }
        }

        impl<'a> crate::db::Column<'a> for $name {
            fn from_value(value: &'a crate::db::SqlValue) -> Result<Self, &'static str> {
                <Uuid as crate::db::Column>::from_value(value).map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// A room's id.
    RoomId
);
id_type!(
    /// A user's id: the `sub` claim of their token.
    UserId
);
id_type!(
    /// A message's id.
    MessageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_canonical_lowercase() {
        let id = RoomId::parse("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap();
        assert_eq!(id.to_string(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    }

    #[test]
    fn non_canonical_forms_are_rejected() {
        for text in [
            "",
            "abc",
            "6f9619ff8b86d011b42d00c04fc964ff",
            "{6f9619ff-8b86-d011-b42d-00c04fc964ff}",
            "6f9619ff-8b86-d011-b42d-00c04fc964fg",
        ] {
            assert!(RoomId::parse(text).is_none(), "{text}");
        }
        let error = RoomId::parse_param("nope", "id").unwrap_err();
        assert_eq!(error.code(), "VALIDATION_ERROR");
    }
}
