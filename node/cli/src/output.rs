//! Printing results: text for people, one JSON document with `--json`.

use serde::Serialize;

/// Prints `value` as pretty JSON (`--json`) or calls `text`.
pub(crate) fn print<T: Serialize>(json: bool, value: &T, text: impl FnOnce()) {
    if json {
        match serde_json::to_string_pretty(value) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: cannot encode the result as JSON: {e}"),
        }
    } else {
        text();
    }
}
