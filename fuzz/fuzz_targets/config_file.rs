//! The TOML configuration file from arbitrary bytes: never a panic, errors on one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncwatch::config::file;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = file::parse(text) {
        assert!(!e.contains('\n'), "{e}");
    }
});
