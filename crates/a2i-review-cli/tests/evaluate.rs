//! `a2i-review evaluate`, run as a user runs it: the built binary on the repository's sample
//! data, checking exit codes, the JSON Lines records and the readable summary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn sample(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample-data")
        .join(path)
}

fn moderation() -> PathBuf {
    sample("incoming/moderation/beach photo+1.json")
}

fn form() -> PathBuf {
    sample("incoming/forms/intake-form.json")
}

fn predictions() -> PathBuf {
    sample("incoming/predictions/batch-001.jsonl")
}

fn conditions(kind: &str) -> PathBuf {
    sample(&format!("conditions/{kind}.json"))
}

fn evaluate(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_a2i-review"))
        .arg("evaluate")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn os<P: AsRef<std::ffi::OsStr> + ?Sized>(p: &P) -> &std::ffi::OsStr {
    p.as_ref()
}

fn records(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_rekognition_result_is_one_flagged_item_with_reasons_and_the_annotated_tree() {
    let out = evaluate(&[
        os("--conditions"),
        os(&conditions("moderation")),
        os(&moderation()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = records(&out);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "flagged",
            "input",
            "itemIndex",
            "line",
            "reasons",
            "results"
        ]
    );
    assert_eq!(r["input"], moderation().display().to_string());
    assert_eq!(r["itemIndex"], 0);
    assert_eq!(r["line"], Value::Null);
    assert_eq!(r["flagged"], true);
    assert!(r["reasons"][0].as_str().unwrap().starts_with(
        "ModerationLabelConfidenceCheck: label \"Swimwear or Underwear\" confidence 88.73"
    ));
    let tree = &r["results"]["Conditions"];
    assert_eq!(tree[0]["EvaluationResult"], true);
    assert_eq!(tree[0]["And"][1]["EvaluationResult"], true);
    assert_eq!(
        tree[0]["And"][1]["ConditionParameters"]["ConfidenceLessThan"],
        98
    );
    assert_eq!(tree[1]["ConditionType"], "Sampling");
    assert_eq!(tree[1]["EvaluationResult"], false);
    assert!(
        stderr(&out).contains("1 item: 1 flagged, 0 not flagged, 0 errors"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_lines_are_judged_line_by_line_and_unflagged_lines_exit_zero() {
    let out = evaluate(&[
        os("--conditions"),
        os(&conditions("predictions")),
        os(&predictions()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = records(&out);
    let lines: Vec<(u64, u64, bool)> = records
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["itemIndex"].as_u64().unwrap(),
                r["flagged"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (1, 0, false),
            (2, 1, true),
            (3, 2, false),
            (4, 3, true),
            (5, 4, true)
        ]
    );
    assert_eq!(records[0]["reasons"], json!([]));
    assert_eq!(
        records[1]["reasons"][0],
        "PredictionConfidenceCheck: top prediction \"shipping\" confidence 0.48 < 0.7"
    );
    let summary = stderr(&out);
    assert!(
        summary.contains("5 items: 3 flagged, 2 not flagged, 0 errors"),
        "{summary}"
    );
    assert!(summary.contains("line 4"), "{summary}");
}

#[test]
fn textract_pages_given_as_a_list_are_one_item() {
    let dir = tempfile::tempdir().unwrap();
    let page: Value = serde_json::from_slice(&std::fs::read(form()).unwrap()).unwrap();
    let pages = dir.path().join("async-pages.json");
    std::fs::write(&pages, json!([page]).to_string()).unwrap();
    let out = evaluate(&[
        os("--conditions"),
        os(&conditions("forms")),
        os(&form()),
        os(&pages),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = records(&out);
    assert_eq!(records.len(), 2, "one item per file");
    assert_eq!(records[0]["flagged"], true);
    assert_eq!(
        records[0]["reasons"], records[1]["reasons"],
        "the same form decides the same, one page or a list of pages"
    );
    assert_eq!(records[1]["itemIndex"], 0);
}

#[test]
fn items_path_and_format_mirror_the_handler_settings() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("tickets.json");
    std::fs::write(
        &doc,
        json!({"tickets": [
            {"predictions": [{"label": "billing", "confidence": 0.97}]},
            {"predictions": [{"label": "returns", "confidence": 0.41}]}
        ]})
        .to_string(),
    )
    .unwrap();
    let out = evaluate(&[
        os("--conditions"),
        os(&conditions("predictions")),
        os("--items-path"),
        os("$.tickets"),
        os(&doc),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let flags: Vec<(u64, bool)> = records(&out)
        .iter()
        .map(|r| {
            assert_eq!(r["line"], Value::Null);
            (
                r["itemIndex"].as_u64().unwrap(),
                r["flagged"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(flags, [(0, false), (1, true)]);

    // A .json file holding JSON Lines, read as such when told.
    let lines = dir.path().join("lines.json");
    std::fs::copy(predictions(), &lines).unwrap();
    let out = evaluate(&[
        os("--conditions"),
        os(&conditions("predictions")),
        os("--format"),
        os("jsonl"),
        os(&lines),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(records(&out).len(), 5);

    let out = evaluate(&[
        os("--conditions"),
        os(&conditions("predictions")),
        os("--items-path"),
        os("tickets["),
        os(&doc),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--items-path"), "{}", stderr(&out));
}

#[test]
fn an_item_the_conditions_cannot_judge_is_reported_and_the_exit_code_says_so() {
    // Moderation conditions on a Textract form: the form has no ModerationLabels.
    let out = evaluate(&[
        os("--conditions"),
        os(&conditions("moderation")),
        os(&form()),
        os(&moderation()),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records = records(&out);
    assert_eq!(
        records.len(),
        2,
        "the item after the bad one is still judged"
    );
    let error = &records[0]["error"];
    assert_eq!(error["kind"], "evaluation");
    assert_eq!(error["condition"], "Conditions[0].And[0]");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("ModerationLabels"),
        "{error}"
    );
    assert!(records[0].get("flagged").is_none());
    assert_eq!(records[1]["flagged"], true);
    let err = stderr(&out);
    assert!(err.contains("ERROR"), "{err}");
    assert!(
        err.contains("1 of 2 items could not be read or judged"),
        "{err}"
    );
}

#[test]
fn unreadable_inputs_and_bad_lines_are_errors_after_the_rest_is_judged() {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("some-bad.jsonl");
    std::fs::write(
        &lines,
        "{\"predictions\":[{\"label\":\"a\",\"confidence\":0.2}]}\n{oops\n",
    )
    .unwrap();
    let missing = dir.path().join("missing.json");
    let out = evaluate(&[
        os("--conditions"),
        os(&conditions("predictions")),
        os(&missing),
        os(&lines),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records = records(&out);
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["input"], missing.display().to_string());
    assert_eq!(records[0]["itemIndex"], Value::Null);
    assert_eq!(records[0]["error"]["kind"], "read");
    assert_eq!(records[1]["flagged"], true);
    assert_eq!(records[2]["line"], 2);
    assert_eq!(records[2]["error"]["kind"], "read");
}

#[test]
fn an_invalid_conditions_file_names_the_node_and_judges_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        json!({"Conditions": [{"ConditionType": "Sampling",
            "ConditionParameters": {"RandomSamplingPercentage": 0}}]})
        .to_string(),
    )
    .unwrap();
    let out = evaluate(&[os("--conditions"), os(&bad), os(&moderation())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("is invalid at Conditions[0].ConditionParameters.RandomSamplingPercentage"),
        "{err}"
    );

    let typo = dir.path().join("typo.json");
    std::fs::write(
        &typo,
        json!({"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ModerationLabelName": "*", "ConfidenceLessThanOrEqual": 50}}]})
        .to_string(),
    )
    .unwrap();
    let out = evaluate(&[os("--conditions"), os(&typo), os(&moderation())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("ConfidenceLessThanEquals"),
        "suggests the right spelling: {}",
        stderr(&out)
    );

    let out = evaluate(&[
        os("--conditions"),
        os(&dir.path().join("nope.json")),
        os(&moderation()),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read the conditions file"));
}

#[test]
fn the_table_output_is_readable_text_on_stdout() {
    let out = evaluate(&[
        os("--conditions"),
        os(&conditions("predictions")),
        os("--output"),
        os("table"),
        os(&predictions()),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("INPUT"), "{text}");
    assert!(first.contains("DECISION"), "{text}");
    assert!(text.contains("not flagged"));
    assert!(text.contains("top prediction \"shipping\" confidence 0.48 < 0.7"));
    assert!(!text.contains("{\""), "no JSON in table mode: {text}");
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn standard_input_is_read_with_a_dash() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_a2i-review"))
        .args(["evaluate", "--format", "jsonl", "--conditions"])
        .arg(conditions("predictions"))
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(predictions()).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = records(&out);
    assert_eq!(records.len(), 5);
    assert_eq!(records[0]["input"], "-");
}

/// `evaluate` with `--render`, without any S3 in the environment.
fn evaluate_render(template: &str, dir: &Path, input: &Path, kind: &str) -> Output {
    let template_file = dir.join("template.liquid.html");
    std::fs::write(&template_file, template).unwrap();
    Command::new(env!("CARGO_BIN_EXE_a2i-review"))
        .arg("evaluate")
        .args([os("--conditions"), os(&conditions(kind))])
        .args([os("--render"), os(&template_file)])
        .args([os("--render-out"), os(&dir.join("pages"))])
        .arg(input)
        .env_remove("RUST_LOG")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .output()
        .expect("the binary runs")
}

/// The HTML file names in `dir`, sorted.
fn pages(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn render_writes_one_page_per_flagged_item_from_the_handlers_loop_input() {
    let dir = tempfile::tempdir().unwrap();
    let template = "<script src=\"https://assets.crowd.aws/crowd-html-elements.js\"></script>\n\
        <crowd-form><p>{{ task.input.taskObject.documentId }} (line {{ task.input.source.line }})</p>\
        <ul>{% for r in task.input.activationReasons %}<li>{{ r }}</li>{% endfor %}</ul>\
        <crowd-classifier name=\"decision\" categories='{{ task.input.taskObject.predictions | map: \"label\" | to_json }}'></crowd-classifier>\
        </crowd-form>";
    let out = evaluate_render(template, dir.path(), &predictions(), "predictions");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The input path as given, its separators as `_`.
    let stem = predictions().display().to_string().replace(['/', ' '], "_");
    assert_eq!(
        pages(&dir.path().join("pages")),
        [2, 4, 5].map(|l| format!("{stem}.line-{l}.html"))
    );
    let records = records(&out);
    for (record, flagged) in records.iter().zip([false, true, false, true, true]) {
        assert_eq!(record["render"].is_object(), flagged, "{record}");
    }
    let file = records[1]["render"]["file"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        "<script src=\"https://assets.crowd.aws/crowd-html-elements.js\"></script>\n\
         <crowd-form><p>ticket-1042 (line 2)</p>\
         <ul><li>PredictionConfidenceCheck: top prediction &quot;shipping&quot; confidence 0.48 &lt; 0.7</li></ul>\
         <crowd-classifier name=\"decision\" categories='[&quot;shipping&quot;,&quot;returns&quot;,&quot;other&quot;]'></crowd-classifier>\
         </crowd-form>"
    );
    let summary = stderr(&out);
    assert!(summary.contains(&format!("rendered: {file}")), "{summary}");
    assert!(
        summary.contains("; 3 rendered, 0 render errors"),
        "{summary}"
    );
}

#[test]
fn render_errors_are_reported_per_item_with_the_position_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = evaluate_render(
        "<p>{{ task.input.taskObject.documentId }}</p>\n<p>{{ task.input.taskObject.summary }}</p>",
        dir.path(),
        &predictions(),
        "predictions",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records = records(&out);
    let flagged: Vec<&Value> = records.iter().filter(|r| r["flagged"] == true).collect();
    assert_eq!(flagged.len(), 3);
    for r in flagged {
        assert_eq!(
            r["render"]["errors"],
            json!([{
                "code": "UndefinedVariable",
                "message": "Liquid error: undefined variable task.input.taskObject.summary (line 2, column 7)"
            }])
        );
        assert!(r["render"].get("file").is_none());
    }
    assert_eq!(pages(&dir.path().join("pages")), Vec::<String>::new());
    let summary = stderr(&out);
    assert!(
        summary.contains("; 0 rendered, 3 render errors"),
        "{summary}"
    );
    assert!(!summary.contains("ticket-104"), "item content in {summary}");
    assert!(
        summary.contains("the template did not render for 3 of 3 flagged items"),
        "{summary}"
    );
}

#[test]
fn render_without_an_s3_gives_marked_preview_urls_for_grant_read_access() {
    let dir = tempfile::tempdir().unwrap();
    let out = evaluate_render(
        "{% capture uri %}s3://{{ task.input.source.bucket }}/{{ task.input.source.key }}{% endcapture %}\
         <img src=\"{{ uri | grant_read_access }}\">",
        dir.path(),
        &moderation(),
        "moderation",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = records(&out)[0]["render"]["file"]
        .as_str()
        .unwrap()
        .to_owned();
    let html = std::fs::read_to_string(file).unwrap();
    assert!(
        html.starts_with("<img src=\"https://s3.amazonaws.com/local-file/"),
        "{html}"
    );
    assert!(
        html.ends_with("beach%20photo%2B1.json?a2i-preview=not-presigned\">"),
        "{html}"
    );
}

#[test]
fn an_invalid_template_exits_2_naming_the_position_and_judges_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = evaluate_render(
        "<p>ok</p>\n{% if task.input.x %}never closed",
        dir.path(),
        &moderation(),
        "moderation",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let message = stderr(&out);
    assert!(
        message.contains("template.liquid.html is invalid"),
        "{message}"
    );
    assert!(message.contains("TemplateSyntaxError"), "{message}");
}
