//! Text rules of the contract: fields are trimmed of Unicode whitespace and measured in Unicode
//! scalar values; names compare case-insensitively, Unicode-aware.

use unicode_normalization::UnicodeNormalization;

use crate::error::FieldError;

/// Trims `value` and checks its length in characters against `min..=max`.
pub fn bounded(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min || length > max {
        let message = if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be {min} to {max} characters after trimming")
        };
        return Err(FieldError::new(field, message));
    }
    Ok(trimmed.to_owned())
}

/// Trims an optional text; empty after trimming (or `None`) becomes `None`.
pub fn optional_bounded(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => bounded(field, text, 1, max).map(Some),
    }
}

/// The form text is compared and searched in: NFC-normalized and fully case-folded (Unicode
/// default case folding), so `É`, `é` and `e` + combining acute meet, and so do `STRASSE` and
/// `straße`, `ΟΔΟΣ` and `οδος`.
pub fn fold_case(text: &str) -> String {
    let composed: String = text.nfc().collect();
    caseless::default_case_fold_str(&composed).nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters_after_trimming() {
        assert_eq!(bounded("name", "  abc \u{3000}", 3, 100).unwrap(), "abc");
        assert!(bounded("name", "ab", 3, 100).is_err());
        assert!(bounded("name", "   ", 3, 100).is_err());
        assert_eq!(bounded("name", &"é".repeat(100), 3, 100).unwrap().chars().count(), 100);
        assert!(bounded("name", &"é".repeat(101), 3, 100).is_err());
        assert_eq!(optional_bounded("d", Some("  "), 500).unwrap(), None);
        assert!(optional_bounded("d", Some(&"x".repeat(501)), 500).is_err());
    }

    #[test]
    fn case_folding_is_unicode_aware() {
        assert_eq!(fold_case("Élan"), fold_case("élan"));
        assert_eq!(fold_case("E\u{301}lan"), fold_case("élan"));
        assert_ne!(fold_case("elan"), fold_case("élan"));
        assert_eq!(fold_case("STRASSE"), fold_case("straße"));
        assert_eq!(fold_case("ΟΔΟΣ"), fold_case("οδος"));
    }
}
