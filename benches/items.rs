//! Per-item cost of the start handler's pure steps: splitting JSON Lines, evaluating
//! conditions, naming the loop and rendering its input; and the memory a large JSON Lines
//! object costs while streamed.
//!
//! `cargo bench --bench items` measures; under `cargo test` the same code runs once on small
//! inputs, so the benchmark cannot rot. Numbers are throughput on this machine, never
//! asserted: shared machines are noisy.

use std::time::Instant;

use a2i_review::conditions::ActivationConditions;
use a2i_review::config::DocumentFormat;
use a2i_review::document;
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
            let rendered = LoopInput::new(item.clone(), source, &e)
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
}
