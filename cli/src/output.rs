//! Text or JSON output, and one-line errors.

/// Where results go: human text, or one JSON object per line.
pub struct Output {
    /// JSON mode.
    pub json: bool,
    /// No progress lines.
    pub quiet: bool,
}

/// Exit code: success.
pub const OK: u8 = 0;
/// Exit code: the check failed.
pub const FAILED: u8 = 1;
/// Exit code: bad usage or undecodable input.
pub const USAGE: u8 = 2;

impl Output {
    /// Prints a result line: `text` for humans or `json` for machines.
    pub fn line(&self, text: impl FnOnce() -> String, json: impl FnOnce() -> serde_json::Value) {
        if self.json {
            println!("{}", json());
        } else {
            println!("{}", text());
        }
    }

    /// Prints a one-line error to stderr and returns `code`.
    pub fn error(&self, code: u8, message: &str) -> u8 {
        if self.json {
            eprintln!("{}", serde_json::json!({ "error": message }));
        } else {
            eprintln!("error: {message}");
        }
        code
    }
}
