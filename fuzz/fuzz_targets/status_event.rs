//! The status handler's parsers on arbitrary input: the EventBridge status-change event
//! (from JSON) and A2I's output.json (from raw bytes). No panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = a2i_review::status::HumanLoopOutput::parse(data);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = a2i_review::status::parse_event(value);
    }
});
