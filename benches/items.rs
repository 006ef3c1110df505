//! Per-item cost of the start handler's pure steps: splitting JSON Lines, evaluating
//! conditions, naming the loop and rendering its input; the memory a large JSON Lines
//! object costs while streamed; and a large Textract JSON document judged by form-key
//! conditions, before (parsed into a `Value`) and after (read lean) side by side, time and
//! peak RSS, each run in a child process of its own (this binary re-run with `--child`) so
//! one run's heap cannot inflate another's peak.
//!
//! `cargo bench --bench items` measures; under `cargo test` the same code runs once on small
//! inputs, so the benchmark cannot rot. Numbers are throughput on this machine, never
//! asserted: shared machines are noisy.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use a2i_review::conditions::{testgen, ActivationConditions};
use a2i_review::config::DocumentFormat;
use a2i_review::document::{self, ItemBody};
use a2i_review::loop_input::{ItemSource, LoopInput};
use a2i_review::loop_name::loop_name;
use a2i_review::source::ObjectRef;
use futures::StreamExt;
use serde_json::{json, Value};

fn prediction_line(i: usize) -> String {
    let top = (i % 100) as f64 / 100.0;
    json!({"documentId": format!("ticket-{i}"), "model": "router-v3", "text": "x".repeat(200),
           "predictions": [{"label": "billing", "confidence": top}, {"label": "other", "confidence": 1.0 - top}]})
    .to_string()
}

fn textract_form(pairs: usize) -> Value {
    let mut blocks = vec![json!({"BlockType": "PAGE", "Id": "p", "Page": 1, "Confidence": 99.0})];
    for i in 0..pairs {
        let (kw, vw, k, v) = (
            format!("kw{i}"),
            format!("vw{i}"),
            format!("k{i}"),
            format!("v{i}"),
        );
        blocks.push(json!({"BlockType": "WORD", "Id": kw, "Text": format!("Field{i}:"), "Confidence": 98.5}));
        blocks.push(json!({"BlockType": "WORD", "Id": vw, "Text": format!("value {i}"), "Confidence": 70 + (i % 30)}));
        blocks.push(json!({"BlockType": "KEY_VALUE_SET", "Id": k, "EntityTypes": ["KEY"], "Confidence": 50 + (i % 50),
            "Relationships": [{"Type": "VALUE", "Ids": [v]}, {"Type": "CHILD", "Ids": [kw]}]}));
        blocks.push(json!({"BlockType": "KEY_VALUE_SET", "Id": v, "EntityTypes": ["VALUE"], "Confidence": 50 + (i % 50),
            "Relationships": [{"Type": "CHILD", "Ids": [vw]}]}));
    }
    json!({"DocumentMetadata": {"Pages": 1}, "Blocks": blocks})
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn report(what: &str, n: usize, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{what:<58} {n:>8} items  {:>10.0} items/s  {:>8.2} µs/item",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        textract_child(&args[2], &args[3], Path::new(&args[4]));
        return;
    }
    let measuring = std::env::args().any(|a| a == "--bench");
    let scale = if measuring { 1 } else { 100 };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime can always be built");

    // 1. Streaming a JSON Lines object from a file: memory must not grow with the file. Runs
    // first, before anything else has grown the heap, so the peak RSS reading means something.
    let lines = 300_000 / scale;
    let path = std::env::temp_dir().join(format!("a2i-review-bench-{}.jsonl", std::process::id()));
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("temp file"));
        for i in 0..lines {
            writeln!(f, "{}", prediction_line(i)).expect("write temp file");
        }
    }
    let size_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let before = peak_rss_kib();
    let t = Instant::now();
    let count = runtime.block_on(async {
        let file = tokio::fs::File::open(&path).await.expect("temp file");
        let stream = document::items(
            tokio::io::BufReader::new(file),
            "big.jsonl",
            DocumentFormat::Auto,
            None,
        )
        .await;
        stream
            .fold(
                0usize,
                |n, item| async move { n + usize::from(item.is_ok()) },
            )
            .await
    });
    report(
        &format!("stream JSON Lines from a {size_mb:.0} MB file"),
        count,
        t,
    );
    let _ = std::fs::remove_file(&path);
    assert_eq!(count, lines, "every line is an item");
    if let (Some(b), Some(a)) = (before, peak_rss_kib()) {
        println!(
            "peak RSS {b} KiB before streaming, {a} KiB after: +{} KiB for a {size_mb:.0} MB file",
            a.saturating_sub(b)
        );
    }

    // 2. Pure per-item pipeline on custom-model predictions.
    let conditions = ActivationConditions::parse(
        r#"{"Conditions":[{"ConditionType":"PredictionConfidenceCheck","ConditionParameters":{"LabelName":"*","TopPredictionOnly":true,"ConfidenceLessThan":0.6}},
            {"ConditionType":"Sampling","ConditionParameters":{"RandomSamplingPercentage":5}}]}"#,
    )
    .expect("the benchmark's conditions are valid");
    let object = ObjectRef {
        bucket: "inference-results".into(),
        key: "batch/2026-11-21/predictions.jsonl".into(),
        version_id: None,
        e_tag: Some("0f343b0931126a20f133d67c2b018a3b".into()),
    };
    let n = 200_000 / scale;
    let items: Vec<Value> = (0..n)
        .map(|i| serde_json::from_str(&prediction_line(i)).expect("valid line"))
        .collect();
    let t = Instant::now();
    let mut flagged = 0;
    for (i, item) in items.iter().enumerate() {
        let e = conditions.evaluate(item).expect("evaluable");
        if e.flagged {
            flagged += 1;
            let name = loop_name(Some("bench"), &object, i as u64);
            let source = ItemSource {
                object: object.clone(),
                item_index: i as u64,
                line: Some(i as u64 + 1),
            };
            let rendered = LoopInput::new(item.clone(), source, &e, None)
                .render()
                .expect("small input");
            std::hint::black_box((name, rendered));
        }
    }
    report(
        &format!("evaluate + name + render (predictions, {flagged} flagged)"),
        n,
        t,
    );

    // 3. Textract forms: pair extraction dominates.
    let form = textract_form(60);
    let form_conditions = ActivationConditions::parse(
        r#"{"Conditions":[{"Or":[
            {"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"*","KeyValueBlockConfidenceLessThan":60,"WordBlockConfidenceLessThan":80}},
            {"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Policy number:"}}]}]}"#,
    )
    .expect("valid");
    let m = 5_000 / scale;
    let t = Instant::now();
    for _ in 0..m {
        std::hint::black_box(form_conditions.evaluate(&form).expect("evaluable"));
    }
    report("evaluate Textract form (60 pairs, 241 blocks)", m, t);

    // 4. A large Textract document, before and after the lean path.
    textract_document(measuring);
}

/// Form-key conditions for the large document: `skip` holds for no pair (the common case
/// of a clean scan: key-value confidences are 30 to 100), `flag` for about a quarter of
/// them (a loop must be started).
fn textract_conditions(which: &str) -> ActivationConditions {
    let kv = match which {
        "skip" => 1,
        _ => 50,
    };
    ActivationConditions::parse(&format!(
        r#"{{"Conditions": [{{"ConditionType": "ImportantFormKeyConfidenceCheck", "ConditionParameters": {{
            "ImportantFormKey": "*", "KeyValueBlockConfidenceLessThan": {kv}}}}}]}}"#
    ))
    .expect("the benchmark's conditions are valid")
}

/// One item path run in a child process; prints `seconds peak_rss_kib flagged rendered_chars`.
///
/// `before`: the object read whole and parsed into a `Value`, evaluated, and for a flagged
/// item its loop input rendered (the start handler until issue 9 item 5). `after`: the
/// start handler's item path now, [`document::items`] then [`ItemBody::evaluate`], the `Value`
/// built only for a flagged item.
fn textract_child(variant: &str, which: &str, path: &Path) {
    use tokio::io::AsyncReadExt;
    let conditions = textract_conditions(which);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a current-thread runtime can always be built");
    let object = ObjectRef {
        bucket: "inference-results".into(),
        key: "textract/claim.json".into(),
        version_id: None,
        e_tag: None,
    };
    let source = ItemSource {
        object: object.clone(),
        item_index: 0,
        line: None,
    };
    let started = Instant::now();
    let (evaluation, item) = runtime.block_on(async {
        let file = tokio::fs::File::open(path)
            .await
            .expect("the generated file");
        let reader = tokio::io::BufReader::new(file);
        match variant {
            "before" => {
                let mut reader = reader;
                let mut bytes = Vec::new();
                reader.read_to_end(&mut bytes).await.expect("read");
                let value: Value = serde_json::from_slice(&bytes).expect("valid JSON");
                drop(bytes);
                let e = conditions.evaluate(&value).expect("evaluable");
                (e, ItemBody::Parsed(value))
            }
            "after" => {
                let mut items =
                    document::items(reader, &object.key, DocumentFormat::Auto, None).await;
                let item = items
                    .next()
                    .await
                    .expect("one item")
                    .expect("a valid document");
                item.body.evaluate(&conditions).expect("evaluable")
            }
            other => panic!("unknown variant {other}"),
        }
    });
    let mut chars = 0;
    if evaluation.flagged {
        let value = item.into_value().expect("valid JSON");
        let rendered = LoopInput::new(value, source, &evaluation, None)
            .render()
            .expect("the reference fits");
        chars = rendered.content.chars().count();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{seconds:.6} {} {} {chars}",
        peak_rss_kib().unwrap_or(0),
        evaluation.flagged
    );
}

/// Seconds and peak RSS in MB of one child run.
type Sample = (f64, f64);

/// Runs both item paths on a generated multi-page Textract response, for conditions that
/// skip it and conditions that flag it, alternating runs; reports medians side by side.
fn textract_document(measuring: bool) {
    let (pages, runs) = if measuring { (252, 3) } else { (3, 1) };
    let path = std::env::temp_dir().join(format!(
        "a2i-review-bench-{}-textract.json",
        std::process::id()
    ));
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("temp file"));
        testgen::write_textract_response(&mut out, pages).expect("write temp file");
    }
    let size_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!("Textract document through the item path: {pages} pages, {size_mb:.1} MB; median of {runs} run(s)");
    println!(
        "{:<40} {:>9} {:>12} {:>10} {:>10}",
        "conditions / path", "time", "peak RSS", "RSS/file", "vs before"
    );
    for which in ["skip", "flag"] {
        // (path, (seconds, peak MB) per run, what the run decided and rendered)
        let mut results: Vec<(&str, Vec<Sample>, String)> = vec![
            ("before", Vec::new(), String::new()),
            ("after", Vec::new(), String::new()),
        ];
        for _ in 0..runs {
            for (variant, samples, outcome) in &mut results {
                let output = Command::new(std::env::current_exe().expect("own path"))
                    .args(["--child", variant, which])
                    .arg(&path)
                    .output()
                    .expect("the benchmark can run itself");
                assert!(
                    output.status.success(),
                    "{variant} {which} failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                let text = String::from_utf8_lossy(&output.stdout).into_owned();
                let fields: Vec<&str> = text.split_whitespace().collect();
                let secs: f64 = fields[0].parse().expect("seconds");
                let peak_mb = fields[1].parse::<f64>().expect("peak RSS") * 1024.0 / 1e6;
                samples.push((secs, peak_mb));
                *outcome = fields[2..].join(" ");
            }
        }
        assert_eq!(
            results[0].2, results[1].2,
            "both paths must decide and render the same"
        );
        assert_eq!(
            results[0].2.starts_with("true"),
            which == "flag",
            "the {which} conditions decide as intended"
        );
        let medians: Vec<(f64, f64)> = results
            .iter()
            .map(|(_, samples, _)| {
                let mut t: Vec<f64> = samples.iter().map(|s| s.0).collect();
                let mut m: Vec<f64> = samples.iter().map(|s| s.1).collect();
                t.sort_by(f64::total_cmp);
                m.sort_by(f64::total_cmp);
                (t[t.len() / 2], m[m.len() / 2])
            })
            .collect();
        for ((variant, _, _), (secs, peak)) in results.iter().zip(&medians) {
            let label = match (which, *variant) {
                ("skip", "before") => "skipped item, before (Value)",
                ("skip", _) => "skipped item, after (lean)",
                (_, "before") => "flagged item, before (Value)",
                _ => "flagged item, after (lean, then Value)",
            };
            println!(
                "{label:<40} {:>6.0} ms {:>9.1} MB {:>9.2}x {:>9.2}x",
                secs * 1e3,
                peak,
                peak / size_mb,
                medians[0].0 / secs
            );
        }
    }
    // What the check of a document that is not flagged costs, next to serde's IgnoredAny
    // (cheaper, but it skips numbers and strings by their syntax only, so it accepts what a
    // Value refuses) and a Value parse.
    let bytes = std::fs::read(&path).expect("the generated file");
    let _ = std::fs::remove_file(&path);
    let time = |f: &dyn Fn()| {
        let mut t: Vec<f64> = (0..runs)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed().as_secs_f64()
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t[t.len() / 2] * 1e3
    };
    let check = time(&|| document::check_json(&bytes).expect("valid JSON"));
    let ignored = time(&|| {
        serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).expect("valid JSON");
    });
    let parse = time(&|| {
        std::hint::black_box(serde_json::from_slice::<Value>(&bytes).expect("valid JSON"));
    });
    println!(
        "of a document: check (as a Value parse, nothing built) {check:.0} ms, IgnoredAny {ignored:.0} ms, Value parse {parse:.0} ms"
    );
}
