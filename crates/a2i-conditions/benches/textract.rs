//! A large multi-page Textract response, judged three ways side by side: the lean path
//! (`evaluate_slice`), a bare `serde_json::Value` parse plus the `Value`-based evaluation,
//! and a plain Python `json` script doing the same check (`textract_check.py`). Reports the
//! median time and the peak RSS of each, every run in a child process of its own (this
//! binary re-executed with `--child`) so one variant's heap cannot inflate another's peak.
//!
//! `cargo bench -p a2i-conditions --bench textract` generates a 252-page response of about
//! 30 MB (geometry on every block; KEY_VALUE_SET, WORD, LINE and PAGE blocks with their
//! relationships; deterministic) and runs each variant 5 times. Under `cargo test` the same
//! code runs once on a 3-page response, checking that all variants count the same hits, so
//! the benchmark cannot rot. The targets (lean peak RSS at most 2x the file, lean at least
//! 5x faster than Python) are reported, never asserted: shared machines are noisy.
//! Last, it times `evaluate_slice` on a DetectModerationLabels response and a prediction
//! line, the measurement behind keeping those on the `Value` path.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use a2i_conditions::ActivationConditions;

/// The check every variant runs: every key whose key-value confidence is below 50, or
/// whose words are all below 60.
const KV_LESS_THAN: f64 = 50.0;
const WORD_LESS_THAN: f64 = 60.0;

fn conditions() -> ActivationConditions {
    ActivationConditions::parse(&format!(
        r#"{{"Conditions": [{{"ConditionType": "ImportantFormKeyConfidenceCheck", "ConditionParameters": {{
            "ImportantFormKey": "*", "KeyValueBlockConfidenceLessThan": {KV_LESS_THAN},
            "WordBlockConfidenceLessThan": {WORD_LESS_THAN}}}}}]}}"#
    ))
    .expect("the benchmark's conditions are valid")
}

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

/// Writes a GetDocumentAnalysis response of `pages` pages to `path`; returns its size.
fn write_document(path: &Path, pages: usize) -> u64 {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let file = std::fs::File::create(path).expect("temp file");
    let mut out = std::io::BufWriter::new(file);
    let _ = write!(
        out,
        r#"{{"DocumentMetadata": {{"Pages": {pages}}}, "JobStatus": "SUCCEEDED", "Blocks": ["#
    );
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
                out.write_all(b", ").expect("write");
            }
            first = false;
            out.write_all(b.as_bytes()).expect("write");
        }
    }
    let _ = write!(out, r#"], "AnalyzeDocumentModelVersion": "1.0"}}"#);
    out.flush().expect("write");
    drop(out);
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The number of pairs a reason names: five listed at most, then "and N more".
fn hits_in(reasons: &[String]) -> usize {
    let Some(reason) = reasons.first() else {
        return 0;
    };
    let listed = reason.matches(" on page ").count();
    let more = reason
        .rsplit_once("; and ")
        .and_then(|(_, rest)| rest.strip_suffix(" more"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    listed + more
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// One measured run inside a child process: prints `seconds peak_rss_kib hits [parse_seconds]`.
fn child(variant: &str, path: &Path) {
    let conditions = conditions();
    let started = Instant::now();
    let bytes = std::fs::read(path).expect("the generated file");
    let (hits, parse) = match variant {
        "lean" => {
            assert!(conditions.reads_only_form_pairs());
            let e = conditions.evaluate_slice(&bytes).expect("evaluable");
            (hits_in(&e.reasons), None)
        }
        "value" => {
            let value: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
            let parsed = started.elapsed().as_secs_f64();
            let e = conditions.evaluate(&value).expect("evaluable");
            (hits_in(&e.reasons), Some(parsed))
        }
        other => panic!("unknown variant {other}"),
    };
    let seconds = started.elapsed().as_secs_f64();
    let parse = parse.map(|p| format!(" {p:.6}")).unwrap_or_default();
    println!("{seconds:.6} {} {hits}{parse}", peak_rss_kib());
}

struct Run {
    seconds: f64,
    peak_kib: u64,
    hits: usize,
    parse_seconds: Option<f64>,
}

fn run(variant: &str, path: &Path) -> Option<Run> {
    let output = if variant == "python" {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/textract_check.py");
        Command::new("python3")
            .arg(script)
            .arg(path)
            .arg(KV_LESS_THAN.to_string())
            .arg(WORD_LESS_THAN.to_string())
            .output()
            .ok()?
    } else {
        Command::new(std::env::current_exe().expect("own path"))
            .args(["--child", variant])
            .arg(path)
            .output()
            .expect("the benchmark can run itself")
    };
    assert!(
        output.status.success(),
        "{variant} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    Some(Run {
        seconds: fields[0].parse().expect("seconds"),
        peak_kib: fields[1].parse().expect("peak RSS"),
        hits: fields[2].parse().expect("hits"),
        parse_seconds: fields.get(3).and_then(|p| p.parse().ok()),
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2], Path::new(&args[3]));
        return;
    }
    let measuring = args.iter().any(|a| a == "--bench");
    let (pages, runs) = if measuring { (252, 5) } else { (3, 1) };
    let path: PathBuf = std::env::temp_dir().join(format!(
        "a2i-conditions-textract-{}.json",
        std::process::id()
    ));
    let size = write_document(&path, pages);
    let size_mb = size as f64 / 1e6;
    println!("Textract GetDocumentAnalysis response: {pages} pages, {size_mb:.1} MB; median of {runs} run(s) each");

    let variants = ["lean", "value", "python"];
    let mut results: Vec<(&str, Vec<Run>)> = variants.iter().map(|v| (*v, Vec::new())).collect();
    for _ in 0..runs {
        // Alternate the variants so drift on a shared machine spreads over all of them.
        for (variant, runs) in &mut results {
            if let Some(r) = run(variant, &path) {
                runs.push(r);
            }
        }
    }
    let _ = std::fs::remove_file(&path);

    let hits: Vec<usize> = results
        .iter()
        .flat_map(|(_, runs)| runs.iter().map(|r| r.hits))
        .collect();
    assert!(
        hits.windows(2).all(|w| w[0] == w[1]),
        "every variant must find the same pairs: {hits:?}"
    );
    let summary: Vec<(&str, f64, f64)> = results
        .iter()
        .filter(|(_, runs)| !runs.is_empty())
        .map(|(variant, runs)| {
            let secs = median(runs.iter().map(|r| r.seconds).collect());
            let peak_mb = median(
                runs.iter()
                    .map(|r| r.peak_kib as f64 * 1024.0 / 1e6)
                    .collect(),
            );
            (*variant, secs, peak_mb)
        })
        .collect();
    let python = summary.iter().find(|s| s.0 == "python").map(|s| s.1);
    println!(
        "{:<34} {:>10} {:>14} {:>12} {:>13}",
        "variant", "time", "peak RSS", "RSS / file", "vs Python"
    );
    for (variant, secs, peak_mb) in &summary {
        let label = match *variant {
            "lean" => "lean (evaluate_slice)",
            "value" => "Value parse + evaluate",
            _ => "Python json + same check",
        };
        let speedup = python
            .map(|p| format!("{:.1}x", p / secs))
            .unwrap_or_else(|| "-".into());
        println!(
            "{label:<34} {:>8.0} ms {:>11.1} MB {:>11.2}x {speedup:>13}",
            secs * 1e3,
            peak_mb,
            peak_mb / size_mb
        );
    }
    if let Some((_, runs)) = results.iter().find(|(v, _)| *v == "value") {
        let parses: Vec<f64> = runs.iter().filter_map(|r| r.parse_seconds).collect();
        if !parses.is_empty() {
            println!(
                "  of which the bare Value parse: {:.0} ms",
                median(parses) * 1e3
            );
        }
    }
    if python.is_none() {
        println!("python3 not found: the Python baseline was skipped");
    }
    println!(
        "{} pairs flagged by every variant",
        hits.first().copied().unwrap_or(0)
    );
    small_documents(measuring);
}

/// Why Rekognition and prediction items keep the `Value` path: their documents are small
/// (a DetectModerationLabels response lists tens of labels; a prediction line is a few
/// hundred bytes), so the whole of `evaluate_slice` costs microseconds, of which a lean
/// reader could save only part.
fn small_documents(measuring: bool) {
    let n = if measuring { 20_000 } else { 10 };
    let labels: Vec<String> = (0..100)
        .map(|i| {
            format!(
                r#"{{"Confidence": {}, "Name": "Label {i}", "ParentName": "Parent {}", "TaxonomyLevel": 2}}"#,
                50.0 + (i as f64) * 0.37,
                i / 10
            )
        })
        .collect();
    let moderation = format!(
        r#"{{"ModerationLabels": [{}], "ModerationModelVersion": "7.0", "ContentTypes": []}}"#,
        labels.join(", ")
    );
    let prediction = r#"{"documentId": "ticket-1", "model": "router-v3", "predictions": [{"label": "billing", "confidence": 0.41}, {"label": "other", "confidence": 0.59}]}"#;
    let cases = [
        (
            "DetectModerationLabels, 100 labels",
            moderation.as_str(),
            r#"{"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck", "ConditionParameters": {"ModerationLabelName": "*", "ConfidenceGreaterThan": 80}}]}"#,
        ),
        (
            "prediction line",
            prediction,
            r#"{"Conditions": [{"ConditionType": "PredictionConfidenceCheck", "ConditionParameters": {"LabelName": "*", "TopPredictionOnly": true, "ConfidenceLessThan": 0.6}}]}"#,
        ),
    ];
    for (what, document, conditions) in cases {
        let conditions = ActivationConditions::parse(conditions).expect("valid");
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(
                conditions
                    .evaluate_slice(document.as_bytes())
                    .expect("evaluable"),
            );
        }
        let per = started.elapsed().as_secs_f64() / n as f64;
        let parse_started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(
                serde_json::from_slice::<serde_json::Value>(document.as_bytes()).expect("valid"),
            );
        }
        let parse = parse_started.elapsed().as_secs_f64() / n as f64;
        println!(
            "{what:<36} {:>6} bytes: evaluate_slice {:>7.1} µs, of which the Value parse {:>7.1} µs",
            document.len(),
            per * 1e6,
            parse * 1e6
        );
    }
}
