//! Builders for the hand-written Textract items of this module's tests, with the traits of
//! real responses (integer or float confidences, keys without words, empty values, `Page`).

use serde_json::{json, Value};

/// One `WORD` block to be: its text and its `Confidence` (`Value::Null` leaves it out).
pub(crate) struct Word {
    text: &'static str,
    confidence: Value,
}

impl Word {
    /// A word with the given confidence, written as given (`json!(84)` stays an integer).
    pub(crate) fn new(text: &'static str, confidence: Value) -> Self {
        Self { text, confidence }
    }
}

/// The blocks of one key-value pair, in this order: the KEY, the VALUE, the key's WORDs, the
/// value's WORDs. Ids start with `id`. An empty word list leaves out the `CHILD` relationship,
/// as Textract does for keys without text and for empty values.
pub(crate) fn kv_blocks(
    id: &str,
    key: &[Word],
    value: &[Word],
    confidence: Value,
    page: Option<u64>,
) -> Vec<Value> {
    let key_ids: Vec<String> = (0..key.len()).map(|i| format!("{id}-kw{i}")).collect();
    let value_ids: Vec<String> = (0..value.len()).map(|i| format!("{id}-vw{i}")).collect();
    let mut key_relationships = vec![json!({"Type": "VALUE", "Ids": [format!("{id}-value")]})];
    if !key_ids.is_empty() {
        key_relationships.push(json!({"Type": "CHILD", "Ids": key_ids}));
    }
    let mut blocks = vec![
        json!({"BlockType": "KEY_VALUE_SET", "Id": format!("{id}-key"), "EntityTypes": ["KEY"],
               "Confidence": confidence, "Relationships": key_relationships}),
        json!({"BlockType": "KEY_VALUE_SET", "Id": format!("{id}-value"), "EntityTypes": ["VALUE"],
               "Confidence": confidence,
               "Relationships": if value_ids.is_empty() { json!([]) } else { json!([{"Type": "CHILD", "Ids": value_ids}]) }}),
    ];
    for (ids, words) in [(&key_ids, key), (&value_ids, value)] {
        for (word_id, word) in ids.iter().zip(words) {
            let mut block = json!({"BlockType": "WORD", "Id": word_id, "Text": word.text, "TextType": "PRINTED"});
            if !word.confidence.is_null() {
                block["Confidence"] = word.confidence.clone();
            }
            blocks.push(block);
        }
    }
    if let Some(page) = page {
        for block in &mut blocks {
            block["Page"] = json!(page);
        }
    }
    blocks
}

/// A synchronous `AnalyzeDocument` response holding `blocks`.
pub(crate) fn response(blocks: Vec<Value>) -> Value {
    json!({"DocumentMetadata": {"Pages": 1}, "Blocks": blocks, "AnalyzeDocumentModelVersion": "1.0"})
}
