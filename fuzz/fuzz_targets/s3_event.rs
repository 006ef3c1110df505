//! The start handler's S3 event parser on arbitrary JSON: no panic, and every error names a
//! path or a rule (the handler turns each into a reported failure, never a crash).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = a2i_review::s3_event::parse(&value);
    }
});
