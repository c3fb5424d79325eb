//! Connection strings (URI and key=value) from arbitrary bytes: never a panic, and an error
//! never repeats the password it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncwatch::config::conninfo;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = conninfo::parse("fuzz", text);
    let secret = "fUzZ-s3cret";
    for candidate in [
        format!("{text} password={secret}"),
        format!("postgresql://u:{secret}@{text}"),
    ] {
        if let Err(e) = conninfo::parse("fuzz", &candidate) {
            assert!(!e.to_string().contains(secret), "{e}");
        }
    }
});
