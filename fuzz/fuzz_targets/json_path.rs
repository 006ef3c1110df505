//! The bounded JSONPath parser on arbitrary text: no panic, no stack overflow, and no input
//! within the limits may take long (run with libFuzzer's `-timeout` to catch a slow one).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = a2i_conditions::parse_json_path(text);
    }
});
