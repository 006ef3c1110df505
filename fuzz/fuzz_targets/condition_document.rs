//! The condition-document parser on arbitrary text: it must answer (a document or a typed
//! error) without panicking, overflowing the stack or hanging, whatever the input.
#![no_main]

use a2i_conditions::ActivationConditions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let from_text = ActivationConditions::parse(text);
    // The same document given as a Value is judged the same way (its compact form can only
    // be shorter than the text, so only an over-long text may be refused by one alone).
    if text.len() <= a2i_conditions::MAX_DOCUMENT_LEN {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            let from_value = ActivationConditions::from_value(&value);
            assert_eq!(
                from_text.as_ref().map(|_| ()).map_err(|e| &e.path),
                from_value.as_ref().map(|_| ()).map_err(|e| &e.path)
            );
        }
    }
});
