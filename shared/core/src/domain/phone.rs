//! Phone numbers in E.164 form (`+` and 7 to 15 digits).

use super::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number normalised to E.164 with a leading `+`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "+15550001111")]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces, dashes, dots and brackets between digits and an optional
    /// leading `+` (or `00`); refuses letters and wrong lengths.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let trimmed = raw.trim();
        let rest = trimmed.strip_prefix('+').or_else(|| trimmed.strip_prefix("00")).unwrap_or(trimmed);
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(DomainError::new(format!("phone {trimmed:?} has a character {c:?}"))),
            }
        }
        if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(DomainError::new(format!(
                "phone {trimmed:?} is not an international number (7 to 15 digits, no leading 0)"
            )));
        }
        Ok(Self(format!("+{digits}")))
    }

    /// Returns the E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the number with all but the last four digits hidden, for logs.
    pub fn masked(&self) -> String {
        let keep = self.0.len().saturating_sub(4);
        format!("+{}{}", "*".repeat(keep.saturating_sub(1)), &self.0[keep..])
    }
}

impl TryFrom<String> for Phone {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_is_dropped_and_plus_added() {
        assert_eq!(Phone::parse("1 (555) 000-1111").unwrap().as_str(), "+15550001111");
        assert_eq!(Phone::parse("0044 20 7946 0000").unwrap().as_str(), "+442079460000");
    }

    #[test]
    fn letters_and_short_numbers_are_refused() {
        assert!(Phone::parse("+1555abc").is_err());
        assert!(Phone::parse("+12345").is_err());
        assert!(Phone::parse("").is_err());
    }

    #[test]
    fn masked_keeps_the_last_four_digits() {
        assert_eq!(Phone::parse("+15550001111").unwrap().masked(), "+*******1111");
    }
}
