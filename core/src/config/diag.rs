//! Diagnostics: what is wrong with a configuration, and where.
//!
//! Every diagnostic points at `file:line:col` (1-based, columns count
//! characters) and quotes the text it is about, so a user can find it without
//! counting. Where keepalived 2.2.7 prints a message for the same problem, the
//! message is keepalived's text, so it can be searched for; vigil's own advice
//! goes in the hint.

use core::fmt;
use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, nothing is wrong (e.g. a deprecated spelling).
    Note,
    /// keepalived accepts it but probably not as the user meant.
    Warning,
    /// A value was rejected or a structure is broken: the config does not say
    /// what the user meant.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What kind of problem a diagnostic reports; stable names for tests, `--json`
/// and filtering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagKind {
    /// A file (the main config or an include) could not be read.
    FileRead,
    /// An include pattern matched nothing, or includes nest too deeply.
    Include,
    /// An opening quote with no closing one.
    UnmatchedQuote,
    /// A `}` with no `{`.
    ExtraCloseBrace,
    /// A `{` never closed.
    MissingCloseBrace,
    /// A `{` where no block can start.
    UnexpectedBlock,
    /// A block keyword without its `{`.
    MissingBlock,
    /// A keyword vigil (and keepalived) does not know here.
    UnknownKeyword,
    /// Words after what a keyword takes; keepalived ignores them.
    ExtraWords,
    /// A keyword without the value it needs.
    MissingParameter,
    /// A value that is not a valid number, or out of range.
    InvalidNumber,
    /// A value that is not one of the allowed words.
    InvalidValue,
    /// An address or prefix that does not parse.
    InvalidAddress,
    /// A name that refers to nothing defined (track_script, group, ...).
    UndefinedReference,
    /// Something defined twice.
    Duplicate,
    /// Two instances with the same VRID on the same interface and family.
    DuplicateVrid,
    /// A required setting is missing.
    MissingSetting,
    /// Two settings that cannot go together; keepalived resets one.
    Conflict,
    /// An interface that does not exist on this host.
    UnknownInterface,
    /// A value keepalived changes (truncates, rounds, clamps).
    Adjusted,
    /// A script that cannot work the way it is written.
    Script,
    /// A keyword keepalived still accepts but has replaced.
    Deprecated,
    /// `$NAME` definitions that expand forever, or other definition problems.
    Definition,
    /// Syntax keepalived has but vigil does not implement.
    Unsupported,
}

/// One problem found in a configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub kind: DiagKind,
    /// Path of the file, as given to the parser or resolved for an include.
    pub file: String,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
    /// The source text the diagnostic is about (a word or a line).
    pub text: String,
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: severity: message` then the quoted text and the hint,
    /// each on its own indented line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, self.severity, self.message
        )?;
        if !self.text.is_empty() {
            write!(f, "\n    | {}", self.text)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n    = hint: {hint}")?;
        }
        Ok(())
    }
}
