//! The shipped worker templates (`worker-templates/`) against the `task.input` the start
//! handler sends (`docs/task-input.md`), rendered by a2i-local's A2I renderer (strict
//! variables, auto-escape, A2I's filters): every template renders every sample input and
//! every hostile one, data never becomes markup, and an undefined variable fails.
//!
//! The sample inputs in `sample-data/task-input/` are what the start handler sends for the
//! sample objects in `sample-data/incoming/`; `UPDATE_SAMPLES=1 cargo test --test
//! templates` rewrites them after a deliberate change of the contract, and `RENDER_OUT=dir`
//! keeps every rendered page there.

use std::path::{Path, PathBuf};

use a2i_local::render::{codes, parse_template, render_with, Limits, PreviewPresign, Template};
use a2i_review::conditions::{ActivationConditions, Evaluation};
use a2i_review::loop_input::{find_media, ItemSource, LoopInput, Media};
use a2i_review::source::ObjectRef;
use serde_json::{json, Value};

const TEMPLATES: [&str; 4] = ["moderation", "forms", "predictions", "generic"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn template_source(kind: &str) -> String {
    read(format!("worker-templates/{kind}.liquid.html"))
}

fn template(kind: &str) -> Template {
    parse_template(&template_source(kind))
        .unwrap_or_else(|e| panic!("{kind}.liquid.html does not parse: {e:?}"))
}

fn render(kind: &str, input: &Value) -> Result<String, Vec<a2i_local::render::RenderingError>> {
    render_with(
        &template(kind),
        input,
        &PreviewPresign,
        &Limits::human_loop(),
    )
}

fn media(uri: &str) -> Media {
    let path = a2i_review::conditions::parse_json_path("$.image").unwrap();
    find_media(&path, &json!({ "image": uri }))
        .expect("an s3:// URI")
        .expect("found")
}

fn source(key: &str, index: u64, line: Option<u64>) -> ItemSource {
    ItemSource {
        object: ObjectRef {
            bucket: "a2i-review-input".into(),
            key: key.into(),
            version_id: None,
            e_tag: Some("0123456789abcdef0123456789abcdef".into()),
        },
        item_index: index,
        line,
    }
}

fn conditions(kind: &str) -> ActivationConditions {
    ActivationConditions::parse(&read(format!("sample-data/conditions/{kind}.json"))).unwrap()
}

/// What the start handler sends, as `task.input`.
fn task_input(item: Value, source: ItemSource, e: &Evaluation, media: Option<Media>) -> Value {
    let rendered = LoopInput::new(item, source, e, media).render().unwrap();
    serde_json::from_str(&rendered.content).unwrap()
}

/// The loop input of every item of `sample-data/incoming/` the sample conditions flag, named
/// by object and item; moderation and forms with the media a `MEDIA_PATH` would find.
fn sample_loop_inputs() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (kind, key, media_uri) in [
        (
            "moderation",
            "incoming/moderation/beach photo+1.json",
            Some("s3://a2i-review-input/media/beach photo+1.jpg"),
        ),
        (
            "forms",
            "incoming/forms/intake-form.json",
            Some("s3://a2i-review-input/scans/intake-form.png"),
        ),
    ] {
        let item: Value = serde_json::from_str(&read(format!("sample-data/{key}"))).unwrap();
        let e = conditions(kind).evaluate(&item).unwrap();
        assert!(e.flagged, "{key} is a flagged sample");
        out.push((
            kind.to_owned(),
            task_input(item, source(key, 0, None), &e, media_uri.map(media)),
        ));
    }
    let key = "incoming/predictions/batch-001.jsonl";
    let c = conditions("predictions");
    for (i, line) in read(format!("sample-data/{key}")).lines().enumerate() {
        let item: Value = serde_json::from_str(line).unwrap();
        let e = c.evaluate(&item).unwrap();
        if e.flagged {
            out.push((
                format!("predictions-line-{}", i + 1),
                task_input(item, source(key, i as u64, Some(i as u64 + 1)), &e, None),
            ));
        }
    }
    out
}

#[test]
fn sample_task_inputs_are_what_the_start_handler_sends() {
    let dir = root().join("sample-data/task-input");
    let update = std::env::var_os("UPDATE_SAMPLES").is_some();
    let inputs = sample_loop_inputs();
    assert_eq!(inputs.len(), 5, "2 documents and 3 flagged lines");
    for (name, input) in &inputs {
        let path = dir.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(input).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            stored,
            text,
            "{} is stale: run UPDATE_SAMPLES=1 cargo test --test templates",
            path.display()
        );
    }
}

/// Every `sample-data/task-input/*.json` file.
fn stored_samples() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(root().join("sample-data/task-input"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect()
}

/// How often `needle` occurs in `haystack`.
fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The markup a rendered page may hold is the template's own: no more elements of these
/// kinds than the template writes (none of them sits in a loop), and no markup or attribute
/// the hostile data tries to open. Escaped text may still read `onerror=` or `javascript:`:
/// as text it is harmless.
fn assert_no_markup_from_data(kind: &str, html: &str, case: &str) {
    let source = template_source(kind).to_lowercase();
    let page = html.to_lowercase();
    for tag in [
        "<script",
        "</script",
        "<iframe",
        "<svg",
        "<object",
        "<style",
        "</textarea",
        "</pre",
        "<img",
    ] {
        assert!(
            count(&page, tag) <= count(&source, tag),
            "{kind} with {case}: more {tag} than the template has"
        );
    }
    for injected in ["<img src=x", "data-pwned='", "data-pwned=\"", "PWNED"] {
        assert!(
            !html.contains(injected),
            "{kind} with {case}: {injected:?} reached the page"
        );
    }
}

#[test]
fn every_template_renders_every_sample_input() {
    let mut rendered = 0;
    let samples: Vec<(String, Value)> = sample_loop_inputs()
        .into_iter()
        .chain(stored_samples())
        .collect();
    for (name, input) in &samples {
        for kind in TEMPLATES {
            let html = render(kind, input)
                .unwrap_or_else(|e| panic!("{kind}.liquid.html on {name}: {e:?}"));
            assert_no_markup_from_data(kind, &html, name);
            // RENDER_OUT=dir keeps the pages, to look at in a browser.
            if let Some(dir) = std::env::var_os("RENDER_OUT") {
                let name = name.trim_end_matches(".json");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(Path::new(&dir).join(format!("{kind}-{name}.html")), &html).unwrap();
            }
            assert!(
                !html.contains("{{") && !html.contains("{%"),
                "{kind} on {name}: Liquid left in the page"
            );
            assert!(html.contains("<crowd-form>") && html.contains("name=\"decision\""));
            // Why the item is there: every reason, and every node of the condition tree.
            for reason in input["activationReasons"].as_array().unwrap() {
                let escaped = html_escape(reason.as_str().unwrap());
                assert!(
                    html.contains(&escaped),
                    "{kind} on {name}: a reason is missing"
                );
            }
            for node in input["conditionExplanation"].as_array().unwrap() {
                let escaped = html_escape(node["text"].as_str().unwrap());
                assert!(
                    html.contains(&escaped),
                    "{kind} on {name}: {escaped} missing"
                );
            }
            rendered += 1;
        }
    }
    assert_eq!(rendered, samples.len() * TEMPLATES.len());
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[test]
fn each_template_shows_what_its_kind_is_about() {
    let inputs: std::collections::BTreeMap<String, Value> =
        sample_loop_inputs().into_iter().collect();

    let html = render("moderation", &inputs["moderation"]).unwrap();
    assert!(html.contains("Swimwear or Underwear") && html.contains("88.73%"));
    assert!(
        html.contains("https://s3.amazonaws.com/a2i-review-input/media/beach%20photo%2B1.jpg?a2i-preview=not-presigned"),
        "the image goes through grant_read_access"
    );
    assert!(html.contains(
        r#"<crowd-checkbox name="labelsConfirmed" value="Female Swimwear or Underwear">"#
    ));
    assert!(html.contains(r#"categories='["allow", "remove", "escalate"]'"#));

    let html = render("forms", &inputs["forms"]).unwrap();
    assert!(html.contains("Date of birth:") && html.contains("class=\"flagged\""));
    assert!(html.contains("intake-form.png?a2i-preview=not-presigned"));
    assert!(html.contains("name=\"corrections\""));

    let html = render("predictions", &inputs["predictions-line-2"]).unwrap();
    assert!(
        html.contains("categories='[&quot;shipping&quot;,&quot;returns&quot;,&quot;other&quot;,&quot;none of these&quot;]'"),
        "a classifier over the predicted labels, plus a way out"
    );
    assert!(html.contains("<td>0.48</td>"));
    assert!(html.contains("line 2"));

    let html = render("generic", &inputs["predictions-line-4"]).unwrap();
    assert!(html.contains("data-json='{&quot;documentId&quot;:&quot;ticket-1044&quot;"));
}

const HOSTILE: &str = "<script>alert(\"x\")</script><img src=x onerror=alert(1)> ' data-pwned='1 \" data-pwned=\"1 {{ \"pwned\" | upcase }} {% assign x = \"PW\" | append: \"NED\" %}{{ x }} javascript:alert(1) </textarea></pre>";

/// A loop input with the hostile text in every string the templates show.
fn hostile_input() -> Value {
    let item = json!({
        HOSTILE: HOSTILE,
        "text": HOSTILE,
        "ModerationLabels": [
            {"Name": HOSTILE, "ParentName": HOSTILE, "Confidence": 99.5},
            {"Name": "plain", "Confidence": "not a number"}
        ],
        "predictions": [
            {"label": HOSTILE, "confidence": 0.4},
            {"label": "it's \"quoted\"", "confidence": 0.3},
            {"label": "ünïcødé 🙂 \u{202e}rtl \u{2028}sep", "confidence": 0.2}
        ]
    });
    let mut input = task_input(
        item,
        source(&format!("incoming/{HOSTILE}.json"), 3, Some(4)),
        &Evaluation {
            flagged: true,
            reasons: vec![HOSTILE.into()],
            results: json!({"Conditions": [{"Or": [
                {"ConditionType": "JsonPathCheck", "ConditionParameters": {"Path": "$.text", "Equals": HOSTILE}, "EvaluationResult": true},
                {"ConditionType": HOSTILE, "ConditionParameters": {}, "EvaluationResult": false}
            ], "EvaluationResult": true}]}),
        },
        Some(media(&format!("s3://bucket/{HOSTILE}.png"))),
    );
    input["source"]["versionId"] = json!(HOSTILE);
    input["formPairs"] = json!([
        {"key": HOSTILE, "value": HOSTILE, "page": 1, "confidence": 12.5,
         "keyWordConfidenceMin": 50.0, "valueWordConfidenceMin": null, "flagged": true},
        {"key": "Empty:", "value": "", "page": 2, "confidence": null,
         "keyWordConfidenceMin": null, "valueWordConfidenceMin": null, "flagged": false}
    ]);
    input
}

#[test]
fn hostile_item_content_renders_inert_in_every_template() {
    let input = hostile_input();
    for kind in TEMPLATES {
        let html = render(kind, &input).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert_no_markup_from_data(kind, &html, "markup, quotes and Liquid in the data");
        assert!(
            html.contains("&lt;script&gt;alert("),
            "{kind}: the text is shown, escaped"
        );
    }
}

#[test]
fn missing_optional_fields_and_odd_items_render() {
    let e = Evaluation {
        flagged: true,
        reasons: vec![],
        results: json!({"Conditions": []}),
    };
    let bare = |item: Value| task_input(item, source("k.json", 0, None), &e, None);
    let mut reference = bare(json!({"text": "x"}));
    reference["taskObject"] = json!("s3://a2i-review-input/k.json");
    reference["taskObjectIsReference"] = json!(true);
    let cases = [
        ("an empty object", bare(json!({}))),
        ("a string item", bare(json!("just text"))),
        ("a number item", bare(json!(42))),
        ("a null item", bare(Value::Null)),
        ("an array item", bare(json!([1, {"a": null}]))),
        (
            "labels and predictions without their fields",
            bare(json!({"ModerationLabels": [{}], "predictions": [{}], "text": ""})),
        ),
        (
            "labels and predictions of the wrong type",
            bare(json!({"ModerationLabels": "x", "predictions": {"label": "y"}, "text": {"a": 1}})),
        ),
        (
            "lists of scalars",
            bare(json!({"ModerationLabels": [1, "a", null], "predictions": [null, 2]})),
        ),
        ("an item replaced by its S3 reference", reference),
        (
            "non-image media",
            task_input(
                json!({}),
                source("k.json", 0, None),
                &e,
                Some(media("s3://b/doc.pdf")),
            ),
        ),
    ];
    for (case, input) in cases {
        for kind in TEMPLATES {
            let html = render(kind, &input).unwrap_or_else(|e| panic!("{kind} with {case}: {e:?}"));
            assert_no_markup_from_data(kind, &html, case);
        }
    }
}

#[test]
fn huge_and_unicode_values_render_whole() {
    let big = "Grüße, 世界 🙂 & <b>".repeat(50_000); // ~1 MB of text, escaped on output
    let e = Evaluation {
        flagged: true,
        reasons: vec!["ünïcødé reason 🙂".into()],
        results: json!({"Conditions": []}),
    };
    let input = task_input(
        json!({"text": big, "predictions": [{"label": "ラベル", "confidence": 0.5}]}),
        source("ünï/cødé 🙂.jsonl", 0, Some(1)),
        &e,
        None,
    );
    for kind in TEMPLATES {
        let html = render(kind, &input).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert!(html.contains("ünïcødé reason 🙂"), "{kind}");
        assert!(html.contains("ünï/cødé 🙂.jsonl"), "{kind}");
        assert!(!html.contains("<b>"), "{kind}");
    }
    let html = render("predictions", &input).unwrap();
    assert_eq!(
        count(&html, "Grüße, 世界 🙂 &amp; &lt;b&gt;"),
        50_000,
        "the text, whole and escaped"
    );
}

#[test]
fn a_template_using_an_undefined_variable_fails_to_render() {
    let input = sample_loop_inputs().remove(0).1;
    let bad = parse_template("<p>{{ task.input.activationReason }}</p>").unwrap();
    let errors = render_with(&bad, &input, &PreviewPresign, &Limits::human_loop()).unwrap_err();
    assert_eq!(errors[0].code, codes::UNDEFINED_VARIABLE);
    assert!(
        errors[0].message.contains("task.input.activationReason"),
        "{:?}",
        errors[0]
    );
    // A slip in a shipped template is caught the same way.
    for kind in TEMPLATES {
        let slipped = template_source(kind)
            .replace("task.input.source.itemIndex", "task.input.source.itemIndx");
        assert_ne!(slipped, template_source(kind));
        let t = parse_template(&slipped).unwrap();
        let errors = render_with(&t, &input, &PreviewPresign, &Limits::human_loop()).unwrap_err();
        assert_eq!(errors[0].code, codes::UNDEFINED_VARIABLE, "{kind}");
    }
}

#[test]
fn templates_use_only_the_documented_crowd_elements_and_a2i_filters() {
    let allowed_elements = [
        "crowd-form",
        "crowd-classifier",
        "crowd-checkbox",
        "crowd-text-area",
        "crowd-alert",
    ];
    let liquid = regex::Regex::new(r"(?s)\{\{.*?\}\}|\{%.*?%\}").unwrap();
    let filters = regex::Regex::new(r"\|\s*([a-z_]+)").unwrap();
    let elements = regex::Regex::new(r"<(crowd-[a-z-]+)").unwrap();
    let standard_or_a2i = [
        "escape",
        "to_json",
        "grant_read_access",
        "split",
        "map",
        "compact",
        "concat",
        "uniq",
    ];
    for kind in TEMPLATES {
        let source = template_source(kind);
        assert!(source.contains(
            r#"<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>"#
        ));
        assert!(
            !source.contains("skip_autoescape"),
            "{kind}: never on item data"
        );
        for c in elements.captures_iter(&source) {
            assert!(allowed_elements.contains(&&c[1]), "{kind}: {}", &c[1]);
        }
        for block in liquid.find_iter(&source) {
            for c in filters.captures_iter(block.as_str()) {
                assert!(standard_or_a2i.contains(&&c[1]), "{kind}: filter {}", &c[1]);
            }
        }
        // to_json only inside single-quoted attributes, as AWS's templates use it.
        for (at, _) in source.match_indices("to_json") {
            let before = &source[..at];
            let open = before.rfind("='{{").expect("to_json inside ='{{ … }}'");
            assert!(
                !source[open..at].contains('\n'),
                "{kind}: to_json outside an attribute"
            );
        }
    }
}
