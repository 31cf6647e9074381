//! Reading and writing item attributes, with a clear error for an item the
//! adapter did not write (a missing or mistyped attribute is `Internal`).

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use tgdesk_core::ports::{PortError, PortErrorKind};

/// One stored item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn missing(name: &str) -> PortError {
    PortError::new(PortErrorKind::Internal, format!("stored item lacks attribute {name}"))
}

/// Returns string attribute `name` of `item`.
pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, PortError> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).ok_or_else(|| missing(name))
}

/// Returns number attribute `name` of `item`, parsed.
pub(crate) fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, PortError> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| missing(name))
}

/// Returns boolean attribute `name` of `item`, false when absent.
pub(crate) fn get_bool(item: &Item, name: &str) -> bool {
    item.get(name).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false)
}
