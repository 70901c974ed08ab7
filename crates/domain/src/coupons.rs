//! Vaults of coupon codes and the coupons issued from them.

use rand::Rng;

use crate::error::FieldError;

/// What a coupon code is: unique ones are handed out once, generic ones to everybody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    Code,
    GenericCode,
    Link,
    GenericLink,
}

impl CodeKind {
    pub const ALL: [CodeKind; 4] = [Self::Code, Self::GenericCode, Self::Link, Self::GenericLink];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::GenericCode => "generic_code",
            Self::Link => "link",
            Self::GenericLink => "generic_link",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new("kind", "must be code, generic_code, link or generic_link")
            })
    }

    /// Unique codes are issued at most once; generic ones any number of times.
    pub fn is_unique(self) -> bool {
        matches!(self, Self::Code | Self::Link)
    }

    pub fn is_link(self) -> bool {
        matches!(self, Self::Link | Self::GenericLink)
    }

    /// Checks a value of this kind: a code is 1-64 visible characters without spaces, a link
    /// an http(s) URL of at most 2048 characters.
    pub fn parse_value(self, s: &str) -> Result<String, FieldError> {
        let v = s.trim();
        if v.is_empty() {
            return Err(FieldError::new("value", "is empty"));
        }
        crate::text::check_identifier("value", v)?;
        if self.is_link() {
            if v.len() > MAX_LINK_LEN {
                return Err(FieldError::new(
                    "value",
                    "is too long: a link has at most 2048 characters",
                ));
            }
            let ok = (v.starts_with("https://") || v.starts_with("http://"))
                && v.len() > "https://".len()
                && !v.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(FieldError::new("value", "must be an http or https link"));
            }
        } else {
            if v.chars().count() > MAX_CODE_LEN {
                return Err(FieldError::new(
                    "value",
                    "is too long: a code has at most 64 characters",
                ));
            }
            if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(FieldError::new("value", "must not contain spaces"));
            }
        }
        Ok(v.to_string())
    }
}

/// A list filter for the exact code (or link) handed out: empty is no filter.
pub fn parse_code_filter(s: Option<&str>) -> Result<Option<String>, FieldError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) if v.len() > MAX_LINK_LEN => {
            Err(FieldError::new("code", "must be at most 2048 characters"))
        }
        Some(v) => {
            crate::text::check_identifier("code", v)?;
            Ok(Some(v.to_string()))
        }
    }
}

pub const MAX_CODE_LEN: usize = 64;
pub const MAX_LINK_LEN: usize = 2048;
/// Codes generated in one request at most.
pub const MAX_BULK_GENERATE: i64 = 1000;
/// Rows of one CSV upload at most.
pub const MAX_BULK_UPLOAD: usize = 10_000;

/// Letters and digits that cannot be mistaken for each other (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
pub const CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";
/// Length of a generated code: 25^10 ≈ 9.5e13 possibilities.
pub const GENERATED_CODE_LEN: usize = 10;

/// A random code from the unambiguous alphabet.
pub fn generate_code() -> String {
    let mut rng = rand::thread_rng();
    (0..GENERATED_CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// How a coupon is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponMode {
    /// The lead pays the deal's price in points: burns one redeem quota.
    Redeem,
    /// Given free: burns one redeem and one reward quota.
    Reward,
}

impl CouponMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Redeem => "redeem",
            Self::Reward => "reward",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim() {
            "redeem" => Ok(Self::Redeem),
            "reward" => Ok(Self::Reward),
            _ => Err(FieldError::new("mode", "must be redeem or reward")),
        }
    }
}

/// A coupon's life: issued, then used at a store or cancelled (points refunded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponStatus {
    Issued,
    Used,
    Cancelled,
}

impl CouponStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Used => "used",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "issued" => Some(Self::Issued),
            "used" => Some(Self::Used),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// One problem row of a CSV upload (1-based line number).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub row: usize,
    pub message: String,
}

/// Which of `,` and `;` separates the fields: the first of them outside quotes on the first
/// line (spreadsheets set to a decimal comma export with `;`); `,` when there is neither.
fn sniff_delimiter(text: &str) -> u8 {
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => break,
            ',' | ';' if !quoted => return c as u8,
            _ => {}
        }
    }
    b','
}

/// The 1-based line of a byte offset, counted forward from the last offset asked about.
#[derive(Default)]
struct LineCounter {
    byte: usize,
    line: usize,
}

impl LineCounter {
    fn line_at(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = at.min(bytes.len());
        if at >= self.byte {
            self.line += bytes[self.byte..at].iter().filter(|&&b| b == b'\n').count();
            self.byte = at;
        }
        self.line + 1
    }
}

/// Reads an uploaded CSV of codes: one code or link per row, first column, an optional header
/// row `code`. Fields may be quoted (a quoted field may hold the delimiter or a line break),
/// `,` or `;` separates them, a UTF-8 byte order mark and a final blank line are ignored.
/// Answers the values, or every bad row (empty, too long, invalid, duplicated in the file),
/// numbered as lines of the file from 1, each value with its line.
pub fn parse_code_csv(kind: CodeKind, data: &[u8]) -> Result<Vec<(usize, String)>, Vec<RowError>> {
    let text = match std::str::from_utf8(data) {
        Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t),
        Err(_) => {
            return Err(vec![RowError {
                row: 1,
                message: "the file is not UTF-8 text".to_string(),
            }])
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    // The reader skips blank lines, and its positions count from where the previous row ended;
    // the lines are counted here from the bytes instead, and a blank line between two rows is
    // still a row without a code.
    let bytes = text.as_bytes();
    let mut lines = LineCounter::default();
    let mut records: Vec<(usize, Result<String, &str>)> = Vec::new();
    let mut last_line = 0usize;
    let mut record = csv::StringRecord::new();
    loop {
        let from = usize::try_from(reader.position().byte()).unwrap_or(bytes.len());
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                return Err(vec![RowError {
                    row: lines.line_at(bytes, from),
                    message: "is not a readable CSV row".to_string(),
                }]);
            }
        }
        let to = usize::try_from(reader.position().byte()).unwrap_or(bytes.len());
        let start = (from..to)
            .find(|&i| !matches!(bytes[i], b'\r' | b'\n'))
            .unwrap_or(from);
        let end = (start..to)
            .rev()
            .find(|&i| !matches!(bytes[i], b'\r' | b'\n'))
            .unwrap_or(start);
        let line = lines.line_at(bytes, start);
        for blank in last_line + 1..line {
            records.push((blank, Ok(String::new())));
        }
        // The reader takes an unclosed quote to the end of the file; it is a mistake.
        let cell = if bytes[start..=end].iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            Err("has an unclosed quote")
        } else {
            Ok(record.get(0).unwrap_or("").trim().to_string())
        };
        records.push((line, cell));
        last_line = lines.line_at(bytes, end);
    }
    let has_header = records.first().is_some_and(|(line, f)| {
        *line == 1 && f.as_ref().is_ok_and(|f| f.eq_ignore_ascii_case("code"))
    });
    let rows = records.len() - usize::from(has_header);
    if rows > MAX_BULK_UPLOAD {
        let (row, _) = records[MAX_BULK_UPLOAD + usize::from(has_header)];
        return Err(vec![RowError {
            row,
            message: format!("the file has {rows} rows; at most {MAX_BULK_UPLOAD} are allowed"),
        }]);
    }
    let mut values = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for (row, cell) in records.into_iter().skip(usize::from(has_header)) {
        let parsed = cell
            .map_err(str::to_string)
            .and_then(|cell| kind.parse_value(&cell).map_err(|e| e.message));
        match parsed {
            Err(message) => errors.push(RowError { row, message }),
            Ok(v) => {
                if let Some(first) = seen.get(&v) {
                    errors.push(RowError {
                        row,
                        message: format!("duplicates row {first}"),
                    });
                } else {
                    seen.insert(v.clone(), row);
                    values.push((row, v));
                }
            }
        }
    }
    if values.is_empty() && errors.is_empty() {
        errors.push(RowError {
            row: 1,
            message: "the file holds no codes".to_string(),
        });
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_by_kind() {
        assert!(CodeKind::Code.parse_value("SAVE-10").is_ok());
        assert!(CodeKind::Code.parse_value("has space").is_err());
        assert!(CodeKind::Code.parse_value(&"x".repeat(65)).is_err());
        assert!(CodeKind::Link
            .parse_value("https://shop.example/r/1")
            .is_ok());
        assert!(CodeKind::Link.parse_value("ftp://x").is_err());
        assert!(CodeKind::GenericLink.parse_value("").is_err());
    }

    #[test]
    fn generated_codes_use_the_unambiguous_alphabet() {
        for _ in 0..100 {
            let c = generate_code();
            assert_eq!(c.len(), GENERATED_CODE_LEN);
            assert!(c.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        }
        for ambiguous in b"01OILSZB258" {
            assert!(!CODE_ALPHABET.contains(ambiguous));
        }
    }

    #[test]
    fn csv_with_header_and_every_bad_row() {
        assert_eq!(
            parse_code_csv(CodeKind::Code, b"code\r\nA1,extra\r\n\"B\"\"2\"\r\n").unwrap(),
            [(2, "A1".to_string()), (3, "B\"2".to_string())]
        );
        let errors = parse_code_csv(
            CodeKind::Code,
            format!("A1\n\nA1\n{}\nok\n", "x".repeat(70)).as_bytes(),
        )
        .unwrap_err();
        let rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, [2, 3, 4]);
        assert!(parse_code_csv(CodeKind::Code, b"").is_err());
        let big: String = (0..10_001).map(|i| format!("C{i}\n")).collect();
        assert!(parse_code_csv(CodeKind::Code, big.as_bytes()).is_err());
        let max: String = (0..10_000).map(|i| format!("C{i}\n")).collect();
        assert_eq!(
            parse_code_csv(CodeKind::Code, max.as_bytes())
                .unwrap()
                .len(),
            10_000
        );
    }

    fn codes(data: &[u8]) -> Vec<(usize, String)> {
        parse_code_csv(CodeKind::Code, data).unwrap()
    }

    #[test]
    fn csv_quoted_fields_may_hold_delimiters_and_line_breaks() {
        assert_eq!(
            codes(b"code,note\n\"A1\",\"first line\nsecond, line\"\nB2,\"x\"\n"),
            [(2, "A1".to_string()), (4, "B2".to_string())]
        );
        // A bad row after a multi-line one is still named by its own line.
        let errors = parse_code_csv(CodeKind::Code, b"A1,\"a\nb\nc\"\nA1\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].row, 4);
        assert_eq!(errors[0].message, "duplicates row 1");
    }

    #[test]
    fn csv_semicolons_are_detected() {
        assert_eq!(
            codes(b"code;note\r\nA1;x,y\r\n\"B;2\";z\r\nC3\r\n"),
            [
                (2, "A1".to_string()),
                (3, "B;2".to_string()),
                (4, "C3".to_string())
            ]
        );
        assert_eq!(
            codes(b"A1;one, two\nB2;three\n"),
            [(1, "A1".to_string()), (2, "B2".to_string())]
        );
    }

    #[test]
    fn csv_byte_order_mark_and_final_blank_lines_are_ignored() {
        assert_eq!(
            codes("\u{feff}code\r\nA1\r\nB2\r\n\r\n".as_bytes()),
            [(2, "A1".to_string()), (3, "B2".to_string())]
        );
        assert_eq!(codes(b"A1\n\n\n"), [(1, "A1".to_string())]);
        assert!(parse_code_csv(CodeKind::Code, b"\xff\xfeA1\n").is_err());
    }

    #[test]
    fn csv_every_bad_row_with_its_line() {
        let errors = parse_code_csv(
            CodeKind::Code,
            b"code\nGOOD-1\n\nhas space\nGOOD-1\n\"unclosed\n",
        )
        .unwrap_err();
        let rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, [3, 4, 5, 6]);
    }
}

/// What a coupon code belongs to: a deal's vault, or a standalone vault that voucher
/// campaigns draw from. Exactly one, as the database's check says too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CodeOwner {
    Deal(crate::DealId),
    Vault(crate::VaultId),
}

impl CodeOwner {
    pub fn deal_id(&self) -> Option<&crate::DealId> {
        match self {
            Self::Deal(d) => Some(d),
            Self::Vault(_) => None,
        }
    }

    pub fn vault_id(&self) -> Option<&crate::VaultId> {
        match self {
            Self::Vault(v) => Some(v),
            Self::Deal(_) => None,
        }
    }

    /// The column that names this owner, and the owner's id.
    pub fn column_and_id(&self) -> (&'static str, &str) {
        match self {
            Self::Deal(d) => ("deal_id", d.as_str()),
            Self::Vault(v) => ("vault_id", v.as_str()),
        }
    }
}
