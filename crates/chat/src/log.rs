//! Log lines on the component's stderr, each written whole with one write. Spin collects the
//! stderr of every concurrent instance of a component into one file, where a line written in
//! pieces (as `eprintln!` writes each formatted argument) interleaves with others mid-line.

use std::io::Write;

/// Writes `line` and a newline to stderr in one write. Logging never fails a request.
pub fn write_line(line: std::fmt::Arguments<'_>) {
    let mut text = line.to_string();
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// `eprintln!`, but one write per line (see [`write_line`]).
#[macro_export]
macro_rules! log_line {
    ($($arg:tt)*) => {
        $crate::log::write_line(format_args!($($arg)*))
    };
}
