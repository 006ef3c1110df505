//! Textract responses read lean: straight from the JSON bytes into borrowed, typed blocks
//! holding only what the form-key conditions read (id, type, entity types, confidence,
//! text, selection status, page, relationships). `Geometry`, `Polygon` and every other
//! field are skipped by the parser without being built, so a 30 MB multi-page response costs
//! little beyond its bytes.
//!
//! The lean reading is the fast path of the one [`Value`](serde_json::Value)-based
//! semantics, never a second one: it is strict where the `Value` reader is lenient or lazy
//! (a field of an unexpected type, a duplicate key, a response without `Blocks`), and
//! whenever it refuses a document or the pairs it finds lead to an error, the caller reads
//! the document as a `Value` and decides from that. So a document the lean path accepts is
//! one the `Value` path reads to the same pairs, and every error is the `Value` path's.
//!
//! Both spellings are read as the `Value` reader reads them: the API's PascalCase field
//! wins over the lower camelCase of A2I's `output.json` whenever it is present, even as
//! `null`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::textract::{form_pairs_of, BlockView, FormPair, Location};

/// The pairs of a Textract response (or list of paginated responses) given as JSON text;
/// `None` when the lean reading refuses it and the `Value` reader must decide.
pub(crate) fn form_pairs(json: &[u8]) -> Option<Vec<FormPair>> {
    let item: LeanItem = serde_json::from_slice(json).ok()?;
    let blocks = match item {
        // One response: its blocks are used where they are, not copied (the peak memory of a
        // large document is its bytes plus this one list).
        LeanItem::One(mut blocks) => {
            for (index, block) in blocks.iter_mut().enumerate() {
                block.at = Location {
                    response: None,
                    index,
                };
            }
            blocks
        }
        LeanItem::Many(pages) if pages.is_empty() => return None,
        LeanItem::Many(pages) => {
            let mut blocks = Vec::with_capacity(pages.iter().map(Vec::len).sum());
            // Each page's list is freed as soon as it is moved.
            for (r, page) in pages.into_iter().enumerate() {
                blocks.extend(page.into_iter().enumerate().map(|(index, mut block)| {
                    block.at = Location {
                        response: Some(r),
                        index,
                    };
                    block
                }));
            }
            blocks
        }
    };
    form_pairs_of(&blocks).ok()
}

/// One response (its blocks), or a list of paginated responses.
enum LeanItem<'a> {
    One(Vec<LeanBlock<'a>>),
    Many(Vec<Vec<LeanBlock<'a>>>),
}

/// A string borrowed from the input when it has no escapes, owned otherwise.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field read in either spelling: `Some(None)` is present as `null`.
struct Spelled<T> {
    pascal: Option<Option<T>>,
    camel: Option<Option<T>>,
}

impl<T> Default for Spelled<T> {
    fn default() -> Self {
        Self {
            pascal: None,
            camel: None,
        }
    }
}

impl<T> Spelled<T> {
    /// Reads the next value into the slot of one spelling; a second value for the same key
    /// is refused (the `Value` reader keeps the last one; the fallback will decide).
    fn read<'de, A, S>(slot: &mut Option<Option<T>>, map: &mut A, seed: S) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
        S: DeserializeSeed<'de, Value = Option<T>>,
    {
        if slot.is_some() {
            return Err(de::Error::custom("duplicate field"));
        }
        *slot = Some(map.next_value_seed(seed)?);
        Ok(())
    }

    fn pascal<'de, A>(&mut self, map: &mut A) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
        Option<T>: Deserialize<'de>,
    {
        Self::read(&mut self.pascal, map, std::marker::PhantomData::<Option<T>>)
    }

    fn camel<'de, A>(&mut self, map: &mut A) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
        Option<T>: Deserialize<'de>,
    {
        Self::read(&mut self.camel, map, std::marker::PhantomData::<Option<T>>)
    }

    /// The PascalCase value when that key is present (even as `null`), else the camelCase.
    fn get(self) -> Option<T> {
        match self.pascal {
            Some(value) => value,
            None => self.camel.flatten(),
        }
    }
}

/// One block, as the form-key conditions see it. Kept small: a 250-page response has some
/// 50,000 blocks.
struct LeanBlock<'a> {
    at: Location,
    id: Option<Cow<'a, str>>,
    kind: Kind,
    lists_key: bool,
    /// A `WORD`'s `Text` or a `SELECTION_ELEMENT`'s `SelectionStatus`: the one text that
    /// reading pairs takes from a block of that type (other blocks keep none).
    text: Option<Cow<'a, str>>,
    confidence: Option<f64>,
    page: Option<u64>,
    relationships: Vec<LeanRelationship<'a>>,
}

/// A block's `BlockType`, reduced to what reading pairs tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    KeyValueSet,
    Word,
    SelectionElement,
    /// Any other type (`LINE`, `PAGE`, `CELL`, …): never a key, a word or a selection.
    Other,
    /// No `BlockType`.
    Absent,
}

impl Kind {
    fn of(block_type: Option<&str>) -> Self {
        match block_type {
            None => Kind::Absent,
            Some("KEY_VALUE_SET") => Kind::KeyValueSet,
            Some("WORD") => Kind::Word,
            Some("SELECTION_ELEMENT") => Kind::SelectionElement,
            Some(_) => Kind::Other,
        }
    }
}

struct LeanRelationship<'a> {
    /// `CHILD`, `VALUE`, or another type (`None` for one absent or `null`).
    kind: Option<RelationshipKind>,
    ids: Vec<Cow<'a, str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RelationshipKind {
    Child,
    Value,
    Other,
}

impl BlockView for LeanBlock<'_> {
    fn at(&self) -> Location {
        self.at
    }

    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The type as reading pairs compares it: the three types it knows by name, and a name
    /// that equals none of them for any other.
    fn block_type(&self) -> Option<&str> {
        match self.kind {
            Kind::KeyValueSet => Some("KEY_VALUE_SET"),
            Kind::Word => Some("WORD"),
            Kind::SelectionElement => Some("SELECTION_ELEMENT"),
            Kind::Other => Some(""),
            Kind::Absent => None,
        }
    }

    fn is_key(&self) -> bool {
        self.kind == Kind::KeyValueSet && self.lists_key
    }

    fn text(&self) -> Result<Option<&str>, String> {
        Ok(if self.kind == Kind::Word {
            self.text.as_deref()
        } else {
            None
        })
    }

    fn selection_status(&self) -> Result<Option<&str>, String> {
        Ok(if self.kind == Kind::SelectionElement {
            self.text.as_deref()
        } else {
            None
        })
    }

    fn confidence(&self) -> Result<Option<f64>, String> {
        Ok(self.confidence)
    }

    fn page(&self) -> Result<u64, String> {
        Ok(self.page.unwrap_or(1))
    }

    fn related(&self, kind: &str) -> Result<Vec<&str>, String> {
        let wanted = match kind {
            "CHILD" => RelationshipKind::Child,
            "VALUE" => RelationshipKind::Value,
            _ => RelationshipKind::Other,
        };
        Ok(self
            .relationships
            .iter()
            .filter(|r| r.kind == Some(wanted) && wanted != RelationshipKind::Other)
            .flat_map(|r| r.ids.iter().map(|id| id.as_ref()))
            .collect())
    }
}

/// The keys the lean reader knows, in both spellings; every other key is skipped unread.
#[derive(Deserialize)]
#[serde(field_identifier)]
enum BlockKey {
    Id,
    #[serde(rename = "id")]
    IdCamel,
    BlockType,
    #[serde(rename = "blockType")]
    BlockTypeCamel,
    EntityTypes,
    #[serde(rename = "entityTypes")]
    EntityTypesCamel,
    Text,
    #[serde(rename = "text")]
    TextCamel,
    SelectionStatus,
    #[serde(rename = "selectionStatus")]
    SelectionStatusCamel,
    Confidence,
    #[serde(rename = "confidence")]
    ConfidenceCamel,
    Page,
    #[serde(rename = "page")]
    PageCamel,
    Relationships,
    #[serde(rename = "relationships")]
    RelationshipsCamel,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for LeanBlock<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LeanBlock<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Textract block")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut id = Spelled::<Text>::default();
                let mut block_type = Spelled::<Text>::default();
                let mut entity_types = Spelled::<ListsKey>::default();
                let mut text = Spelled::<Text>::default();
                let mut selection = Spelled::<Text>::default();
                let mut confidence = Spelled::<f64>::default();
                let mut page = Spelled::<u64>::default();
                let mut relationships = Spelled::<Vec<LeanRelationship>>::default();
                while let Some(key) = map.next_key::<BlockKey>()? {
                    match key {
                        BlockKey::Id => id.pascal(&mut map)?,
                        BlockKey::IdCamel => id.camel(&mut map)?,
                        BlockKey::BlockType => block_type.pascal(&mut map)?,
                        BlockKey::BlockTypeCamel => block_type.camel(&mut map)?,
                        BlockKey::EntityTypes => entity_types.pascal(&mut map)?,
                        BlockKey::EntityTypesCamel => entity_types.camel(&mut map)?,
                        BlockKey::Text => text.pascal(&mut map)?,
                        BlockKey::TextCamel => text.camel(&mut map)?,
                        BlockKey::SelectionStatus => selection.pascal(&mut map)?,
                        BlockKey::SelectionStatusCamel => selection.camel(&mut map)?,
                        BlockKey::Confidence => confidence.pascal(&mut map)?,
                        BlockKey::ConfidenceCamel => confidence.camel(&mut map)?,
                        BlockKey::Page => page.pascal(&mut map)?,
                        BlockKey::PageCamel => page.camel(&mut map)?,
                        BlockKey::Relationships => relationships.pascal(&mut map)?,
                        BlockKey::RelationshipsCamel => relationships.camel(&mut map)?,
                        BlockKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let kind = Kind::of(block_type.get().as_ref().map(|t| t.0.as_ref()));
                let text = match kind {
                    Kind::Word => text.get(),
                    Kind::SelectionElement => selection.get(),
                    _ => None,
                };
                Ok(LeanBlock {
                    at: Location {
                        response: None,
                        index: 0,
                    },
                    id: id.get().map(|t| t.0),
                    kind,
                    lists_key: entity_types.get().is_some_and(|k| k.0),
                    text: text.map(|t| t.0),
                    confidence: confidence.get(),
                    page: page.get(),
                    relationships: relationships.get().unwrap_or_default(),
                })
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum RelationshipKey {
    Type,
    #[serde(rename = "type")]
    TypeCamel,
    Ids,
    #[serde(rename = "ids")]
    IdsCamel,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for LeanRelationship<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LeanRelationship<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a relationship")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut kind = Spelled::<Text>::default();
                let mut ids = Spelled::<Vec<Text>>::default();
                while let Some(key) = map.next_key::<RelationshipKey>()? {
                    match key {
                        RelationshipKey::Type => kind.pascal(&mut map)?,
                        RelationshipKey::TypeCamel => kind.camel(&mut map)?,
                        RelationshipKey::Ids => ids.pascal(&mut map)?,
                        RelationshipKey::IdsCamel => ids.camel(&mut map)?,
                        RelationshipKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(LeanRelationship {
                    kind: kind.get().map(|t| match t.0.as_ref() {
                        "CHILD" => RelationshipKind::Child,
                        "VALUE" => RelationshipKind::Value,
                        _ => RelationshipKind::Other,
                    }),
                    ids: ids
                        .get()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| t.0)
                        .collect(),
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// Whether an `EntityTypes` value is a list holding the string `KEY`. Any JSON is accepted,
/// as the `Value` reader accepts it (anything else simply lists no `KEY`).
struct ListsKey(bool);

impl<'de> Deserialize<'de> for ListsKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IsKey { top: true }).map(ListsKey)
    }
}

/// At the top (`top`), true for a list with a `"KEY"` element; inside it, true for `"KEY"`.
struct IsKey {
    top: bool,
}

impl<'de> DeserializeSeed<'de> for IsKey {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IsKey {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(!self.top && v == "KEY")
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(is_key) = seq.next_element_seed(IsKey { top: false })? {
            found |= is_key;
        }
        Ok(self.top && found)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum ResponseKey {
    Blocks,
    #[serde(rename = "blocks")]
    BlocksCamel,
    #[serde(other)]
    Other,
}

/// The blocks of one response; a response without them (or with `null`) is refused.
struct LeanResponse<'a>(Vec<LeanBlock<'a>>);

impl<'de> Deserialize<'de> for LeanResponse<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ResponseVisitor)
    }
}

struct ResponseVisitor;

impl<'de> Visitor<'de> for ResponseVisitor {
    type Value = LeanResponse<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Textract response")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut blocks = Spelled::<Vec<LeanBlock>>::default();
        while let Some(key) = map.next_key::<ResponseKey>()? {
            match key {
                ResponseKey::Blocks => blocks.pascal(&mut map)?,
                ResponseKey::BlocksCamel => blocks.camel(&mut map)?,
                ResponseKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        blocks
            .get()
            .map(LeanResponse)
            .ok_or_else(|| de::Error::custom("no Blocks"))
    }
}

impl<'de> Deserialize<'de> for LeanItem<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LeanItem<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Textract response or a list of them")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ResponseVisitor.visit_map(map).map(|r| LeanItem::One(r.0))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut pages = Vec::new();
                while let Some(page) = seq.next_element::<LeanResponse>()? {
                    pages.push(page.0);
                }
                Ok(LeanItem::Many(pages))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn both(item: &Value) -> (Option<Vec<FormPair>>, Result<Vec<FormPair>, String>) {
        let bytes = serde_json::to_vec(item).unwrap();
        (form_pairs(&bytes), super::super::textract::form_pairs(item))
    }

    #[test]
    fn reads_the_same_pairs_as_the_value_reader() {
        let item = json!({"DocumentMetadata": {"Pages": 1}, "Blocks": [
            {"BlockType": "KEY_VALUE_SET", "Id": "k", "EntityTypes": ["VALUE", "KEY"], "Confidence": 41.3, "Page": 2,
             "Geometry": {"BoundingBox": {"Width": 0.5}, "Polygon": [{"X": 0.1, "Y": 0.2}]},
             "Relationships": [{"Type": "VALUE", "Ids": ["v"]}, {"Type": "CHILD", "Ids": ["w1", "w2", "missing"]}]},
            {"BlockType": "KEY_VALUE_SET", "Id": "v", "EntityTypes": ["VALUE"], "Confidence": 41.3,
             "Relationships": [{"Type": "CHILD", "Ids": ["x", "s"]}]},
            {"BlockType": "WORD", "Id": "w1", "Text": "Pay\u{a0}", "Confidence": 99},
            {"BlockType": "WORD", "Id": "w2", "Text": "Date:", "Confidence": 98.5},
            {"BlockType": "WORD", "Id": "x", "Text": "1/6/21", "Confidence": 60.25},
            {"BlockType": "SELECTION_ELEMENT", "Id": "s", "SelectionStatus": "SELECTED", "Confidence": 10},
            {"BlockType": "LINE", "Id": "l", "Text": "Pay Date: 1/6/21", "Relationships": [{"Type": "CHILD", "Ids": ["w1"]}]}
        ]});
        let (lean, value) = both(&item);
        let lean = lean.expect("the lean reader accepts a well-formed response");
        assert_eq!(lean, value.unwrap());
        assert_eq!(lean[0].key, "Pay Date:");
        assert_eq!(lean[0].value, "1/6/21 SELECTED");
        assert_eq!(lean[0].page, 2);
    }

    #[test]
    fn paginated_and_camel_case_responses_read_the_same() {
        let item = json!([
            {"NextToken": "t", "Blocks": [
                {"BlockType": "KEY_VALUE_SET", "Id": "k", "EntityTypes": ["KEY"], "Confidence": 50,
                 "Relationships": [{"Type": "CHILD", "Ids": ["w"]}]}]},
            {"blocks": [{"blockType": "WORD", "id": "w", "text": "Name", "confidence": 70}]}
        ]);
        let (lean, value) = both(&item);
        assert_eq!(lean.unwrap(), value.unwrap());
    }

    #[test]
    fn the_api_spelling_wins_even_when_null() {
        let item = json!({"Blocks": [
            {"BlockType": "KEY_VALUE_SET", "blockType": "WORD", "Id": "k", "EntityTypes": null, "entityTypes": ["KEY"]},
            {"BlockType": "KEY_VALUE_SET", "Id": "k2", "EntityTypes": ["KEY"], "Confidence": null, "confidence": 5}
        ]});
        let (lean, value) = both(&item);
        let lean = lean.unwrap();
        assert_eq!(lean, value.unwrap());
        assert_eq!(lean.len(), 1);
        assert_eq!(lean[0].confidence, None);
    }

    #[test]
    fn refuses_what_the_value_reader_must_judge() {
        for item in [
            json!([]),
            json!({"ModerationLabels": []}),
            json!({"Blocks": null}),
            json!({"Blocks": [{"BlockType": 7}]}),
            json!({"Blocks": [{"BlockType": "WORD", "Confidence": "high"}]}),
            json!({"Blocks": [{"BlockType": "KEY_VALUE_SET", "EntityTypes": ["KEY"], "Page": 1.5}]}),
            json!({"Blocks": [{"Relationships": [{"Type": "CHILD", "Ids": [1]}]}]}),
            json!("text"),
        ] {
            assert!(both(&item).0.is_none(), "{item}");
        }
        let duplicate = br#"{"Blocks": [{"Id": "a", "Id": "b"}]}"#;
        assert!(form_pairs(duplicate).is_none());
        assert!(form_pairs(b"{\"Blocks\": [").is_none());
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let json = br#"{"Blocks": [{"Id": "plain", "BlockType": "WORD", "Text": "esc\"aped"}]}"#;
        let item: LeanItem = serde_json::from_slice(json).unwrap();
        let LeanItem::One(blocks) = item else {
            panic!("one response")
        };
        assert!(matches!(blocks[0].id, Some(Cow::Borrowed("plain"))));
        assert!(matches!(&blocks[0].text, Some(Cow::Owned(t)) if t == "esc\"aped"));
    }
}
