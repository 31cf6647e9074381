//! Reading an import file: its lines counted against the cap first, then
//! rows read and validated one at a time (the file is never turned into a
//! vector of rows), and the refused lines kept up to a bound with a count.

use super::accounts::clean_name;
use super::import::{ImportFormat, ImportReport, RejectedLine};
use super::AppError;
use crate::domain::{parse_label, Phone, Username};
use serde::Deserialize;

/// Most lines an import file may have (the CSV header included): above the
/// largest deployment (300,000 accounts), and small enough that the phones
/// seen are held in memory at once.
pub const MAX_IMPORT_LINES: usize = 500_000;

/// Refused lines reported with their reason; the rest are only counted.
pub const MAX_REPORTED_REJECTIONS: usize = 1_000;

/// A row as read, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRow {
    phone: Option<String>,
    name: Option<String>,
    tags: Option<RawTags>,
    group: Option<String>,
    owner: Option<String>,
    session: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawTags {
    List(Vec<String>),
    Joined(String),
}

/// A validated row.
pub(crate) struct Row {
    pub line: u64,
    pub phone: Phone,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub group: Option<String>,
    pub owner: Option<Username>,
    pub session: Option<String>,
}

const CSV_COLUMNS: [&str; 6] = ["phone", "name", "tags", "group", "owner", "session"];

impl ImportReport {
    /// Records a refused line: its reason while fewer than
    /// [`MAX_REPORTED_REJECTIONS`] are kept, always its count.
    pub(crate) fn reject(&mut self, line: u64, reason: impl Into<String>) {
        self.rejected_count += 1;
        if self.rejected.len() < MAX_REPORTED_REJECTIONS {
            self.rejected.push(RejectedLine { line, reason: reason.into() });
        }
    }
}

/// Returns the file's line count; `TooLarge` naming the cap past [`MAX_IMPORT_LINES`].
pub(crate) fn count_lines(body: &[u8]) -> Result<usize, AppError> {
    let newlines = body.iter().filter(|b| **b == b'\n').count();
    let lines = newlines + usize::from(body.last().is_some_and(|b| *b != b'\n'));
    if lines > MAX_IMPORT_LINES {
        return Err(AppError::TooLarge(format!(
            "import files are limited to {MAX_IMPORT_LINES} lines; this one has {lines}: split it"
        )));
    }
    Ok(lines)
}

/// The lines of a JSON Lines body with their 0-based index.
type JsonLines<'a> = std::iter::Enumerate<std::slice::Split<'a, u8, fn(&u8) -> bool>>;

/// The rows of a file, one at a time: `Ok((line, row))` or the refused line.
pub(crate) enum Rows<'a> {
    /// A CSV file past its header.
    Csv { reader: csv::Reader<&'a [u8]>, columns: Vec<String>, record: csv::StringRecord },
    /// JSON Lines.
    Json(JsonLines<'a>),
}

fn is_newline(b: &u8) -> bool {
    *b == b'\n'
}

impl<'a> Rows<'a> {
    /// Opens `body`; a CSV header that is unreadable or names unknown columns fails the whole import.
    pub fn open(format: ImportFormat, body: &'a [u8]) -> Result<Self, AppError> {
        match format {
            ImportFormat::JsonLines => Ok(Rows::Json(body.split(is_newline as fn(&u8) -> bool).enumerate())),
            ImportFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(body);
                let headers = reader
                    .headers()
                    .map_err(|e| AppError::invalid(format!("line 1: the CSV header cannot be read: {e}")))?;
                let columns: Vec<String> =
                    headers.iter().map(|h| h.trim_start_matches('\u{feff}').to_lowercase()).collect();
                if let Some(bad) = columns.iter().find(|c| !CSV_COLUMNS.contains(&c.as_str())) {
                    return Err(AppError::invalid(format!(
                        "line 1: unknown column {bad:?}; expected {}",
                        CSV_COLUMNS.join(",")
                    )));
                }
                if !columns.iter().any(|c| c == "phone") {
                    return Err(AppError::invalid("line 1: the header has no phone column"));
                }
                Ok(Rows::Csv { reader, columns, record: csv::StringRecord::new() })
            }
        }
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<(u64, RawRow), RejectedLine>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Csv { reader, columns, record } => next_csv(reader, columns, record),
            Rows::Json(lines) => loop {
                let (i, raw) = lines.next()?;
                let line = i as u64 + 1;
                let Ok(text) = std::str::from_utf8(raw) else {
                    return Some(Err(RejectedLine { line, reason: "the line is not valid UTF-8".into() }));
                };
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                return Some(match serde_json::from_str::<RawRow>(text) {
                    Ok(row) => Ok((line, row)),
                    Err(e) => Err(RejectedLine { line, reason: format!("invalid JSON: {e}") }),
                });
            },
        }
    }
}

fn next_csv(
    reader: &mut csv::Reader<&[u8]>,
    columns: &[String],
    record: &mut csv::StringRecord,
) -> Option<Result<(u64, RawRow), RejectedLine>> {
    let line = reader.position().line() + 1;
    match reader.read_record(record) {
        Ok(false) => None,
        Ok(true) => {
            let line = record.position().map_or(line, |p| p.line());
            let mut row = RawRow::default();
            for (column, value) in columns.iter().zip(record.iter()) {
                let value = (!value.is_empty()).then(|| value.to_owned());
                match column.as_str() {
                    "phone" => row.phone = value,
                    "name" => row.name = value,
                    "tags" => row.tags = value.map(RawTags::Joined),
                    "group" => row.group = value,
                    "session" => row.session = value,
                    _ => row.owner = value,
                }
            }
            Some(Ok((line, row)))
        }
        Err(e) => {
            let line = e.position().map_or(line, |p| p.line());
            let reason = match e.kind() {
                csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                    format!("expected {expected_len} fields, found {len}")
                }
                csv::ErrorKind::Utf8 { .. } => "the line is not valid UTF-8".to_owned(),
                _ => e.to_string(),
            };
            Some(Err(RejectedLine { line, reason }))
        }
    }
}

/// Validates a row read from `line`.
pub(crate) fn validate(line: u64, raw: RawRow) -> Result<Row, String> {
    let phone = Phone::parse(raw.phone.as_deref().ok_or("phone is missing")?).map_err(|e| e.0)?;
    let name = clean_name(raw.name.as_deref()).map_err(|e| e.to_string())?;
    let tags = match raw.tags {
        None => Vec::new(),
        Some(RawTags::List(list)) => list,
        Some(RawTags::Joined(s)) => s.split(';').map(str::to_owned).collect(),
    };
    let tags = tags
        .iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| parse_label(t, "tag").map_err(|e| e.0))
        .collect::<Result<Vec<_>, _>>()?;
    let group = match raw.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => Some(parse_label(g, "group").map_err(|e| e.0)?),
        None => None,
    };
    let owner = match raw.owner.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) => Some(Username::parse(o).map_err(|e| e.0)?),
        None => None,
    };
    let session = raw.session.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if session.as_ref().is_some_and(|s| s.len() > 4096) {
        return Err("session is longer than any session string".into());
    }
    Ok(Row { line, phone, name, tags, group, owner, session })
}
