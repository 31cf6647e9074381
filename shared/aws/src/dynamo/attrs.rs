//! Reading and writing item attributes, with a clear error for an item the
//! adapter did not write (a missing or mistyped attribute is `Internal`).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
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

/// Returns string attribute `name` of `item`, or `None` when absent.
pub(crate) fn opt_s<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, PortError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(v) => v.as_s().map(|s| Some(s.as_str())).map_err(|_| missing(name)),
    }
}

/// Returns string-set attribute `name` of `item`, empty when absent
/// (DynamoDB stores no empty set).
pub(crate) fn get_ss<'a>(item: &'a Item, name: &str) -> Result<Vec<&'a str>, PortError> {
    match item.get(name) {
        None => Ok(Vec::new()),
        Some(v) => v.as_ss().map(|v| v.iter().map(String::as_str).collect()).map_err(|_| missing(name)),
    }
}

/// A string-set attribute, or `None` for an empty set (DynamoDB refuses those).
pub(crate) fn ss<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<AttributeValue> {
    let v: Vec<String> = values.into_iter().map(str::to_owned).collect();
    (!v.is_empty()).then_some(AttributeValue::Ss(v))
}

/// Returns binary attribute `name` of `item`.
pub(crate) fn get_b(item: &Item, name: &str) -> Result<Vec<u8>, PortError> {
    item.get(name).and_then(|v| v.as_b().ok()).map(|b| b.as_ref().to_vec()).ok_or_else(|| missing(name))
}

/// A time as whole nanoseconds since the epoch (exact, any year chrono holds).
pub(crate) fn time(at: DateTime<Utc>) -> AttributeValue {
    n(time_ns(at))
}

/// Nanoseconds since the epoch of `at`.
pub(crate) fn time_ns(at: DateTime<Utc>) -> i128 {
    i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos())
}

/// Returns time attribute `name` of `item` (see [`time`]).
pub(crate) fn get_time(item: &Item, name: &str) -> Result<DateTime<Utc>, PortError> {
    let ns: i128 = get_n(item, name)?;
    let secs = i64::try_from(ns.div_euclid(1_000_000_000)).map_err(|_| missing(name))?;
    let nanos = u32::try_from(ns.rem_euclid(1_000_000_000)).map_err(|_| missing(name))?;
    DateTime::from_timestamp(secs, nanos).ok_or_else(|| missing(name))
}

/// Parses string attribute `name` of `item` with `parse` (a domain id's
/// parser); a value the domain refuses is `Internal`.
pub(crate) fn parsed<T, E>(item: &Item, name: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, PortError> {
    parse(get_s(item, name)?)
        .map_err(|_| PortError::new(PortErrorKind::Internal, format!("stored attribute {name} is malformed")))
}

/// Parses string attribute `name` of `item` with `parse` when present.
pub(crate) fn opt_parsed<T, E>(
    item: &Item,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, PortError> {
    opt_s(item, name)?
        .map(parse)
        .transpose()
        .map_err(|_| PortError::new(PortErrorKind::Internal, format!("stored attribute {name} is malformed")))
}

/// A JSON document attribute of a serde record.
pub(crate) fn doc<T: serde::Serialize>(value: &T) -> Result<AttributeValue, PortError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "cannot encode a record", e))
}

/// Reads the JSON document attribute `name` of `item`.
pub(crate) fn get_doc<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> Result<T, PortError> {
    serde_json::from_str(get_s(item, name)?).map_err(|e| {
        PortError::with_source(PortErrorKind::Internal, format!("stored attribute {name} is malformed"), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_round_trip_to_the_nanosecond_before_and_after_the_epoch() {
        let times = [
            Utc.timestamp_opt(1_767_225_600, 123_456_789).unwrap(),
            Utc.timestamp_opt(-1, 999_999_999).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
        ];
        for at in times {
            let item = Item::from([("t".to_owned(), time(at))]);
            assert_eq!(get_time(&item, "t").unwrap(), at);
        }
        let bad = Item::from([("t".to_owned(), s("soon"))]);
        assert_eq!(get_time(&bad, "t").unwrap_err().kind, PortErrorKind::Internal);
    }
}
