//! Message edits (contract v1.2): the validated new content, and an earlier version as listed.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ApiError, FieldError};
use crate::messages::{text_content, MessageKind, CONTENT_MAX_CHARS};
use crate::text;

/// `PATCH /api/rooms/:id/messages/:messageId` body: `content` must be given (`null` clears an
/// image's or a file's caption).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditMessageBody {
    #[serde(default, deserialize_with = "given")]
    content: Option<Option<String>>,
}

/// `Some` whenever the field is present, `null` included.
fn given<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// An edit's content, checked as far as it can be before the message's type is known: at most
/// 1000 characters after trimming, empty meaning none. Only [`Edit::parse`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    content: Option<String>,
}

impl Edit {
    pub fn parse(body: EditMessageBody) -> Result<Edit, ApiError> {
        let Some(content) = body.content else {
            return Err(ApiError::invalid("content", "is required"));
        };
        let content = text::optional_bounded("content", content.as_deref(), CONTENT_MAX_CHARS)
            .map_err(|e| ApiError::Validation(vec![e]))?;
        Ok(Edit { content })
    }

    /// The content a message of `kind` takes: a text's (1-1000 characters), or a caption (none
    /// when empty).
    pub fn content_for(&self, kind: MessageKind) -> Result<Option<String>, FieldError> {
        match kind {
            MessageKind::Text => text_content(self.content.as_deref()).map(Some),
            MessageKind::Image | MessageKind::File => Ok(self.content.clone()),
        }
    }
}

/// An earlier version of a message, as the edits list serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EarlierVersion {
    pub content: Option<String>,
    /// When this version was replaced: the `editedAt` the replacing edit set.
    pub replaced_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn edit(body: serde_json::Value) -> Result<Edit, ApiError> {
        Edit::parse(serde_json::from_value(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?)
    }

    fn field(error: FieldError) -> String {
        error.field
    }

    #[test]
    fn content_must_be_given() {
        assert!(matches!(edit(json!({})), Err(ApiError::Validation(_))));
        assert_eq!(edit(json!({"content": null})).unwrap().content_for(MessageKind::Image), Ok(None));
    }

    #[test]
    fn a_text_needs_1_to_1000_characters_after_trimming() {
        assert_eq!(
            edit(json!({"content": "  fixed "})).unwrap().content_for(MessageKind::Text),
            Ok(Some("fixed".into()))
        );
        assert_eq!(
            edit(json!({"content": "  "})).unwrap().content_for(MessageKind::Text).map_err(field),
            Err("content".into())
        );
        assert_eq!(
            edit(json!({"content": null})).unwrap().content_for(MessageKind::Text).map_err(field),
            Err("content".into())
        );
        assert!(edit(json!({"content": "é".repeat(1001)})).is_err());
    }

    #[test]
    fn a_caption_empty_after_trimming_is_none() {
        assert_eq!(edit(json!({"content": " "})).unwrap().content_for(MessageKind::File), Ok(None));
        assert_eq!(edit(json!({"content": "cat"})).unwrap().content_for(MessageKind::Image), Ok(Some("cat".into())));
    }
}
