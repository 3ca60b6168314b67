//! Messages: the message object, validated input for sending one, and the page request.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, FieldError};
use crate::ids::{MessageId, RoomId, UserId};
use crate::text;

pub const CONTENT_MAX_CHARS: usize = 1000;
pub const URL_MAX_CHARS: usize = 2048;
pub const ATTACHMENT_NAME_MAX_CHARS: usize = 255;
pub const ATTACHMENT_MAX_BYTES: i64 = 104_857_600;
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 128;

/// A message's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    #[default]
    Text,
    Image,
    File,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::File => "file",
        }
    }

    pub fn parse(text: &str) -> Option<MessageKind> {
        match text {
            "text" => Some(MessageKind::Text),
            "image" => Some(MessageKind::Image),
            "file" => Some(MessageKind::File),
            _ => None,
        }
    }
}

impl<'a> crate::db::Column<'a> for MessageKind {
    fn from_value(value: &'a crate::db::SqlValue) -> Result<Self, &'static str> {
        <&str as crate::db::Column>::from_value(value).and_then(|text| MessageKind::parse(text).ok_or("a message type"))
    }
}

/// `{url, name, mimeType, size}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Attachment {
    pub url: String,
    pub name: String,
    pub mime_type: String,
    #[serde(deserialize_with = "integral_number")]
    pub size: i64,
}

/// An integer as JSON Schema counts one: any number without a fractional part (`5`, `5.0`,
/// `5e3`); one beyond `i64` saturates, for the range check to refuse.
fn integral_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(integer) = number.as_i64() {
        return Ok(integer);
    }
    match number.as_f64() {
        Some(real) if real.fract() == 0.0 => Ok(real.clamp(i64::MIN as f64, i64::MAX as f64) as i64),
        _ => Err(serde::de::Error::custom("must be an integer")),
    }
}

/// A message as served. A deleted message is a tombstone: no content, no attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: MessageId,
    pub room_id: RoomId,
    pub author_id: UserId,
    pub author_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: MessageKind,
    pub content: Option<String>,
    pub attachment: Option<Attachment>,
    pub created_at: String,
    pub deleted: bool,
    pub deleted_at: Option<String>,
    pub edited_at: Option<String>,
    pub reply_to: Option<MessageId>,
    /// Live replies.
    pub reply_count: i64,
    /// Sorted by count desc, then emoji; empty on a tombstone.
    pub reactions: Vec<Reaction>,
    /// The store's commit-order sequence (not part of the JSON; cursors are made from it).
    #[serde(skip)]
    pub seq: i64,
}

impl Message {
    /// What the access rules of the v1.2 routes need of it.
    pub fn target(&self) -> crate::access::TargetMessage {
        crate::access::TargetMessage { author: self.author_id, deleted: self.deleted }
    }
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub count: i64,
}

/// `POST /api/rooms/:id/messages` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendMessageBody {
    #[serde(default, rename = "type")]
    kind: Option<MessageKind>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    attachment: Option<Attachment>,
    #[serde(default)]
    reply_to: Option<String>,
}

/// A validated message to send: defaults applied, text trimmed. Only [`NewMessage::parse`]
/// builds one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewMessage {
    #[serde(rename = "type")]
    kind: MessageKind,
    content: Option<String>,
    attachment: Option<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<MessageId>,
}

impl NewMessage {
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    pub fn content(&self) -> Option<&str> {
        self.content.as_deref()
    }

    pub fn attachment(&self) -> Option<&Attachment> {
        self.attachment.as_ref()
    }

    /// The message this one answers (a message of the same room: the store checks).
    pub fn reply_to(&self) -> Option<MessageId> {
        self.reply_to
    }

    /// The content in the form search compares ([`text::fold_case`]).
    pub fn content_key(&self) -> Option<String> {
        self.content.as_deref().map(text::fold_case)
    }

    pub fn parse(body: SendMessageBody) -> Result<NewMessage, ApiError> {
        let kind = body.kind.unwrap_or_default();
        let mut errors = Vec::new();
        let (content, attachment) = match kind {
            MessageKind::Text => {
                if body.attachment.is_some() {
                    errors.push(FieldError::new("attachment", "is not allowed on text messages"));
                }
                let content = text_content(body.content.as_deref());
                (content.map(Some).map_err(|e| errors.push(e)).ok().flatten(), None)
            }
            MessageKind::Image | MessageKind::File => {
                let caption = text::optional_bounded("content", body.content.as_deref(), CONTENT_MAX_CHARS)
                    .map_err(|e| errors.push(e))
                    .ok()
                    .flatten();
                let attachment = match body.attachment {
                    None => {
                        errors.push(FieldError::new("attachment", "is required for image and file messages"));
                        None
                    }
                    Some(attachment) => validate_attachment(attachment, kind, &mut errors),
                };
                (caption, attachment)
            }
        };
        let reply_to = body.reply_to.as_deref().and_then(|id| {
            MessageId::parse(id).or_else(|| {
                errors.push(FieldError::new("replyTo", "must be the id of a message of this room"));
                None
            })
        });
        if errors.is_empty() {
            Ok(NewMessage { kind, content, attachment, reply_to })
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// A digest of the validated message, to tell a retry from a different request that reuses
    /// an `Idempotency-Key`.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A text message's content: required, 1-1000 characters after trimming.
pub fn text_content(content: Option<&str>) -> Result<String, FieldError> {
    match content {
        None => Err(FieldError::new("content", "is required for text messages")),
        Some(content) => text::bounded("content", content, 1, CONTENT_MAX_CHARS),
    }
}

fn validate_attachment(attachment: Attachment, kind: MessageKind, errors: &mut Vec<FieldError>) -> Option<Attachment> {
    let before = errors.len();
    let url = with_lowercase_scheme(attachment.url.trim());
    if url.chars().count() > URL_MAX_CHARS || !is_https_uri(&url) {
        errors.push(FieldError::new(
            "attachment.url",
            format!("must be an https URL, a valid URI as sent (spaces and such percent-encoded), of at most {URL_MAX_CHARS} characters"),
        ));
    }
    let name = text::bounded("attachment.name", &attachment.name, 1, ATTACHMENT_NAME_MAX_CHARS)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let mime_type = attachment.mime_type.trim().to_ascii_lowercase();
    if !is_media_type(&mime_type) {
        errors.push(FieldError::new("attachment.mimeType", "must be a media type such as image/png"));
    } else if kind == MessageKind::Image && !mime_type.starts_with("image/") {
        errors.push(FieldError::new("attachment.mimeType", "must be image/* for image messages"));
    }
    if !(0..=ATTACHMENT_MAX_BYTES).contains(&attachment.size) {
        errors.push(FieldError::new("attachment.size", format!("must be 0 to {ATTACHMENT_MAX_BYTES} bytes")));
    }
    (errors.len() == before).then_some(Attachment { url, name, mime_type, size: attachment.size })
}

/// The URL with its scheme in lowercase (schemes are case-insensitive, RFC 3986 §3.1); the rest is
/// kept as sent.
fn with_lowercase_scheme(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, rest)) => format!("{}:{rest}", scheme.to_ascii_lowercase()),
        None => url.to_owned(),
    }
}

/// An absolute `https` URL with a host that is also a valid RFC 3986 URI as it stands (no raw
/// spaces, `|`, `{`, non-ASCII...), so it is served exactly as stored.
fn is_https_uri(url: &str) -> bool {
    let has_host = fluent_uri::Uri::parse(url).is_ok_and(|uri| uri.authority().is_some_and(|a| !a.host().is_empty()));
    has_host && url::Url::parse(url).is_ok_and(|u| u.scheme() == "https")
}

/// `type/subtype`, each an RFC 6838 restricted name.
fn is_media_type(text: &str) -> bool {
    let restricted_name = |part: &str| {
        (1..=127).contains(&part.len())
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    matches!(text.split_once('/'), Some((kind, subtype)) if restricted_name(kind) && restricted_name(subtype))
}

/// Validates an `Idempotency-Key` header's raw bytes: 1-128 visible ASCII characters.
pub fn parse_idempotency_key(value: Option<&[u8]>) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(key) if (1..=IDEMPOTENCY_KEY_MAX_CHARS).contains(&key.len()) && key.iter().all(u8::is_ascii_graphic) => {
            Ok(Some(String::from_utf8_lossy(key).into_owned()))
        }
        Some(_) => Err(ApiError::invalid("Idempotency-Key", "must be 1 to 128 visible ASCII characters")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: serde_json::Value) -> Result<NewMessage, Vec<String>> {
        let body: SendMessageBody = serde_json::from_value(body).map_err(|e| vec![e.to_string()])?;
        NewMessage::parse(body).map_err(|e| match e {
            ApiError::Validation(details) => details.into_iter().map(|d| d.field).collect(),
            other => vec![other.to_string()],
        })
    }

    fn image(url: &str, mime: &str, size: i64) -> serde_json::Value {
        json!({"type": "image", "attachment": {"url": url, "name": "cat.png", "mimeType": mime, "size": size}})
    }

    #[test]
    fn text_messages() {
        assert_eq!(parse(json!({"content": "  hi  "})).unwrap().content.as_deref(), Some("hi"));
        assert_eq!(parse(json!({"content": "  "})).unwrap_err(), vec!["content"]);
        assert_eq!(parse(json!({})).unwrap_err(), vec!["content"]);
        assert!(parse(json!({"content": "é".repeat(1000)})).is_ok());
        assert_eq!(parse(json!({"content": "é".repeat(1001)})).unwrap_err(), vec!["content"]);
        let with_attachment =
            json!({"content": "x", "attachment": {"url": "https://a.b/c", "name": "n", "mimeType": "a/b", "size": 1}});
        assert_eq!(parse(with_attachment).unwrap_err(), vec!["attachment"]);
    }

    fn file_of_size(size: serde_json::Value) -> serde_json::Value {
        json!({"type": "file", "attachment": {"url": "https://a.com/x", "name": "x", "mimeType": "a/b", "size": size}})
    }

    #[test]
    fn an_attachment_size_is_any_json_number_without_a_fraction() {
        for size in [json!(5), json!(5.0), json!(5e3)] {
            assert!(parse(file_of_size(size.clone())).is_ok(), "{size}");
        }
    }

    #[test]
    fn an_attachment_size_with_a_fraction_or_out_of_range_is_refused() {
        assert!(parse(file_of_size(json!(5.5))).is_err());
        assert_eq!(parse(file_of_size(json!(1e300))).unwrap_err(), vec!["attachment.size"]);
    }

    #[test]
    fn attachment_rules() {
        assert!(parse(image("https://cdn.example.com/cat.png", "image/png", 0)).is_ok());
        assert!(parse(image("https://cdn.example.com/cat.png", "IMAGE/PNG", ATTACHMENT_MAX_BYTES)).is_ok());
        let cases = [
            (image("http://cdn.example.com/cat.png", "image/png", 1), "attachment.url"),
            (image("not a url", "image/png", 1), "attachment.url"),
            (image("https://cdn.example.com/a b.png", "image/png", 1), "attachment.url"),
            (image("https://cdn.example.com/a|b.png", "image/png", 1), "attachment.url"),
            (image("https://cdn.example.com/café.png", "image/png", 1), "attachment.url"),
            (image("https:///no-host.png", "image/png", 1), "attachment.url"),
            (image(&format!("https://a.com/{}", "x".repeat(2040)), "image/png", 1), "attachment.url"),
            (image("https://a.com/x", "application/pdf", 1), "attachment.mimeType"),
            (image("https://a.com/x", "png", 1), "attachment.mimeType"),
            (image("https://a.com/x", "image/png; charset=x", 1), "attachment.mimeType"),
            (image("https://a.com/x", "image/png", -1), "attachment.size"),
            (image("https://a.com/x", "image/png", ATTACHMENT_MAX_BYTES + 1), "attachment.size"),
            (json!({"type": "file"}), "attachment"),
        ];
        for (body, field) in cases {
            assert_eq!(parse(body.clone()).unwrap_err(), vec![field], "{body}");
        }
        let file = json!({"type": "file", "content": " ", "attachment": {"url": "https://a.com/r.pdf", "name": " report.pdf ", "mimeType": "application/pdf", "size": 10}});
        let parsed = parse(file).unwrap();
        assert_eq!((parsed.content, parsed.attachment.unwrap().name), (None, "report.pdf".to_owned()));
    }

    #[test]
    fn an_attachment_url_is_stored_as_sent_but_for_the_case_of_its_scheme() {
        let url = |sent: &str| parse(image(sent, "image/png", 1)).unwrap().attachment.unwrap().url;
        assert_eq!(url("HTTPS://CDN.example.com/Cat.png"), "https://CDN.example.com/Cat.png");
        assert_eq!(url(" https://cdn.example.com "), "https://cdn.example.com");
        assert_eq!(url("https://cdn.example.com/a%20b.png?x=1#top"), "https://cdn.example.com/a%20b.png?x=1#top");
    }

    #[test]
    fn digests_compare_validated_messages() {
        let a = parse(json!({"content": "hi"})).unwrap();
        let b = parse(json!({"type": "text", "content": "  hi "})).unwrap();
        let c = parse(json!({"content": "hello"})).unwrap();
        assert_eq!(a.digest(), b.digest());
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn idempotency_keys() {
        assert_eq!(parse_idempotency_key(Some(b"abc-123")).unwrap().as_deref(), Some("abc-123"));
        assert!(parse_idempotency_key(Some(b"")).is_err());
        assert!(parse_idempotency_key(Some(b"has space")).is_err());
        assert!(parse_idempotency_key(Some("k".repeat(129).as_bytes())).is_err());
        assert!(parse_idempotency_key(Some("é".as_bytes())).is_err());
        assert!(parse_idempotency_key(Some(&[0xff, 0x41])).is_err());
        assert_eq!(parse_idempotency_key(None).unwrap(), None);
    }
}
