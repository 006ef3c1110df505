//! Test data: a deterministic generator of large multi-page Textract responses, shared by
//! this crate's benchmark and the functions' (behind the `testgen` feature, never in a
//! deployed build).

use std::fmt::Write as _;
use std::io::Write;

/// Deterministic pseudo-random numbers (xorshift64*), so every run writes the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A float in `[lo, hi)` with the many digits Textract prints.
    fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }

    /// A UUID-shaped block id.
    fn id(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

const WORDS: &[&str] = &[
    "Name:",
    "Address",
    "Date",
    "of",
    "birth",
    "Policy",
    "number",
    "Amount",
    "Total:",
    "Phone",
    "Employer",
    "Signature",
    "City",
    "State",
    "Zip",
    "Account",
    "Reference",
    "Claim",
    "Insured",
    "Relationship",
    "Patient",
    "Provider",
    "Diagnosis",
    "Service",
    "2021-06-01",
    "$1,204.00",
];

/// One block written as `json.dumps` writes AWS responses (", " and ": " separators).
fn block(
    out: &mut String,
    rng: &mut Rng,
    kind: &str,
    id: &str,
    page: usize,
    extra: &str,
    relationships: &[(&str, &[String])],
) {
    let (w, h, l, t) = (
        rng.float(0.01, 0.3),
        rng.float(0.005, 0.02),
        rng.float(0.0, 0.7),
        rng.float(0.0, 0.95),
    );
    let _ = write!(
        out,
        r#"{{"BlockType": "{kind}", {extra}"Geometry": {{"BoundingBox": {{"Width": {w}, "Height": {h}, "Left": {l}, "Top": {t}}}, "Polygon": [{{"X": {l}, "Y": {t}}}, {{"X": {}, "Y": {}}}, {{"X": {}, "Y": {}}}, {{"X": {}, "Y": {}}}]}}, "Id": "{id}""#,
        l + w,
        t + rng.float(0.0, 0.0001),
        l + w,
        t + h,
        l,
        t + h + rng.float(0.0, 0.0001),
    );
    if !relationships.is_empty() {
        out.push_str(r#", "Relationships": ["#);
        for (i, (rel, ids)) in relationships.iter().enumerate() {
            let ids: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
            let sep = if i > 0 { ", " } else { "" };
            let _ = write!(
                out,
                r#"{sep}{{"Type": "{rel}", "Ids": [{}]}}"#,
                ids.join(", ")
            );
        }
        out.push(']');
    }
    let _ = write!(out, r#", "Page": {page}}}"#);
}

/// Writes a GetDocumentAnalysis response of `pages` pages, about 120 KB a page: per page a
/// PAGE block, 20 form fields (KEY and VALUE blocks, two words each, a LINE over each) and
/// 10 lines of running text, every block with its geometry; a quarter of the fields have
/// low word confidences. The same `pages` always writes the same bytes.
pub fn write_textract_response(out: &mut impl Write, pages: usize) -> std::io::Result<()> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    write!(
        out,
        r#"{{"DocumentMetadata": {{"Pages": {pages}}}, "JobStatus": "SUCCEEDED", "Blocks": ["#
    )?;
    let mut first = true;
    for page in 1..=pages {
        let mut text = String::new();
        let mut blocks: Vec<String> = Vec::new();
        let mut lines = Vec::new();
        let word = |rng: &mut Rng, blocks: &mut Vec<String>, conf: f64| {
            let id = rng.id();
            let w = WORDS[(rng.next() % WORDS.len() as u64) as usize];
            let mut b = String::new();
            let extra = format!(r#""Confidence": {conf}, "Text": "{w}", "TextType": "PRINTED", "#);
            block(&mut b, rng, "WORD", &id, page, &extra, &[]);
            blocks.push(b);
            (id, w)
        };
        // 20 form fields: KEY, VALUE, two words each, and a LINE over each.
        for _ in 0..20 {
            let (key_id, value_id) = (rng.id(), rng.id());
            let kv_conf = rng.float(30.0, 100.0);
            let low = rng.next().is_multiple_of(4);
            let word_conf = |rng: &mut Rng| {
                if low {
                    rng.float(40.0, 70.0)
                } else {
                    rng.float(85.0, 100.0)
                }
            };
            let mut key_words = Vec::new();
            let mut value_words = Vec::new();
            for _ in 0..2 {
                let c = word_conf(&mut rng);
                key_words.push(word(&mut rng, &mut blocks, c).0);
                let c = word_conf(&mut rng);
                value_words.push(word(&mut rng, &mut blocks, c).0);
            }
            let mut b = String::new();
            let extra = format!(r#""Confidence": {kv_conf}, "EntityTypes": ["KEY"], "#);
            let value_ids = [value_id.clone()];
            block(
                &mut b,
                &mut rng,
                "KEY_VALUE_SET",
                &key_id,
                page,
                &extra,
                &[("VALUE", &value_ids), ("CHILD", &key_words)],
            );
            blocks.push(b);
            let mut b = String::new();
            let extra = format!(r#""Confidence": {kv_conf}, "EntityTypes": ["VALUE"], "#);
            block(
                &mut b,
                &mut rng,
                "KEY_VALUE_SET",
                &value_id,
                page,
                &extra,
                &[("CHILD", &value_words)],
            );
            blocks.push(b);
            for words in [&key_words, &value_words] {
                let line_id = rng.id();
                let mut b = String::new();
                let extra = format!(
                    r#""Confidence": {}, "Text": "Field text", "#,
                    rng.float(80.0, 100.0)
                );
                block(
                    &mut b,
                    &mut rng,
                    "LINE",
                    &line_id,
                    page,
                    &extra,
                    &[("CHILD", words)],
                );
                blocks.push(b);
                lines.push(line_id);
            }
        }
        // Running text: 10 lines of 4 words.
        for _ in 0..10 {
            let words: Vec<String> = (0..4)
                .map(|_| {
                    let c = rng.float(90.0, 100.0);
                    word(&mut rng, &mut blocks, c).0
                })
                .collect();
            let line_id = rng.id();
            let mut b = String::new();
            let extra = format!(
                r#""Confidence": {}, "Text": "Some running text", "#,
                rng.float(90.0, 100.0)
            );
            block(
                &mut b,
                &mut rng,
                "LINE",
                &line_id,
                page,
                &extra,
                &[("CHILD", &words)],
            );
            blocks.push(b);
            lines.push(line_id);
        }
        let page_id = rng.id();
        block(
            &mut text,
            &mut rng,
            "PAGE",
            &page_id,
            page,
            "",
            &[("CHILD", &lines)],
        );
        blocks.insert(0, text);
        for b in blocks {
            if !first {
                out.write_all(b", ")?;
            }
            first = false;
            out.write_all(b.as_bytes())?;
        }
    }
    write!(out, r#"], "AnalyzeDocumentModelVersion": "1.0"}}"#)?;
    out.flush()
}
