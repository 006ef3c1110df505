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

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use a2i_conditions::{testgen, ActivationConditions};

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

/// Writes the generated response of `pages` pages to `path`; returns its size.
fn write_document(path: &Path, pages: usize) -> u64 {
    let file = std::fs::File::create(path).expect("temp file");
    let mut out = std::io::BufWriter::new(file);
    testgen::write_textract_response(&mut out, pages).expect("write the generated file");
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
