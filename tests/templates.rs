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

// ---------------------------------------------------------------- built-in task types

/// The templates for A2I's built-in task types, with the element each one uses. Their
/// `task.input` is A2I's own camelCase built-in input, not `docs/task-input.md`.
const BUILTIN_TEMPLATES: [(&str, &str); 2] = [
    ("builtin-textract-forms", "crowd-textract-analyze-document"),
    (
        "builtin-rekognition-moderation",
        "crowd-rekognition-detect-moderation-labels",
    ),
];

/// `sample-data/builtin-input/<name>.json`: a real-shaped built-in input.
fn builtin_input(name: &str) -> Value {
    serde_json::from_str(&read(format!("sample-data/builtin-input/{name}.json"))).unwrap()
}

/// The value of the attribute `name` of the first `element` in `html`, as a browser reads it
/// (quoted with `'` or `"`, character references decoded).
fn attribute(html: &str, element: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("<{element}"))?;
    let tag = &html[start..];
    let needle = format!("{name}=");
    let mut from = 0;
    let at = loop {
        let i = tag[from..].find(&needle)? + from;
        let before = tag[..i].chars().last();
        if before.is_some_and(char::is_whitespace) {
            break i;
        }
        from = i + needle.len();
    };
    let rest = &tag[at + needle.len()..];
    let quote = rest.chars().next()?;
    let end = rest[1..].find(quote)?;
    Some(
        rest[1..1 + end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn json_attribute(html: &str, element: &str, name: &str) -> Value {
    let text = attribute(html, element, name).unwrap_or_else(|| panic!("{element} has no {name}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON ({e}): {text}"))
}

fn render_builtin(kind: &str, input: &Value) -> String {
    render(kind, input).unwrap_or_else(|e| panic!("{kind}.liquid.html: {e:?}"))
}

#[test]
fn the_textract_template_gives_its_element_the_document_the_selected_blocks_and_the_keys() {
    let input = builtin_input("textract-forms");
    let html = render_builtin("builtin-textract-forms", &input);
    let element = "crowd-textract-analyze-document";
    assert_eq!(
        attribute(&html, element, "src").unwrap(),
        "https://s3.amazonaws.com/raw-forms/receipts/harbor-0417.png?a2i-preview=not-presigned",
        "the document, through grant_read_access on the s3Object"
    );
    assert_eq!(
        json_attribute(&html, element, "initial-value"),
        input["selectedAiServiceResponse"]["blocks"],
        "the selected blocks, exactly"
    );
    assert_eq!(
        json_attribute(&html, element, "block-types"),
        json!(["KEY_VALUE_SET"])
    );
    assert!(attribute(&html, element, "header").is_some());
    assert!(html.contains("\n    no-key-edit\n"));
    // No humanLoopContext in the input: the important keys come from the conditions.
    let keys = json_attribute(&html, element, "keys");
    let keys = keys.as_array().unwrap();
    assert_eq!(
        keys.len(),
        6,
        "six key conditions (four keys, two of them in two conditions): {keys:?}"
    );
    assert_eq!(keys[1]["importantFormKey"], "Amount Due:");
    assert_eq!(
        keys[1]["importantFormKeyAliases"],
        json!(["Total Due:", "Balance", "Amount"])
    );
    // Why it is here: the Or and its six leaves, two of which held.
    assert_eq!(count(&html, "ImportantFormKeyConfidenceCheck</strong>"), 3);
    assert_eq!(count(&html, "MissingImportantFormKey</strong>"), 3);
    assert_eq!(count(&html, "&#10004; held"), 3, "the Or and two leaves");
    assert!(html.contains("&quot;KeyValueBlockConfidenceLessThan&quot;:45"));
    assert!(html.contains("Document: s3://raw-forms/receipts/harbor-0417.png"));

    // When A2I supplies the important keys, they are used as they are.
    let mut with_context = input.clone();
    with_context["humanLoopContext"] = json!({"importantFormKeys": [
        {"importantFormKey": "Policy Number:", "importantFormKeyAliases": ["Policy #:"]}
    ]});
    let html = render_builtin("builtin-textract-forms", &with_context);
    assert_eq!(
        json_attribute(&html, element, "keys"),
        with_context["humanLoopContext"]["importantFormKeys"]
    );
}

#[test]
fn the_rekognition_template_offers_the_selected_labels_and_a_way_out() {
    let input = builtin_input("rekognition-moderation");
    let html = render_builtin("builtin-rekognition-moderation", &input);
    let element = "crowd-rekognition-detect-moderation-labels";
    assert_eq!(
        attribute(&html, element, "src").unwrap(),
        "https://s3.amazonaws.com/a2i-review-input/incoming/photos/beach%20photo%2B1.jpg?versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY&a2i-preview=not-presigned",
        "the analysed version of the image"
    );
    assert_eq!(
        json_attribute(&html, element, "categories"),
        json!([
            {"name": "Suggestive", "parentName": ""},
            {"name": "Female Swimwear Or Underwear", "parentName": "Suggestive"}
        ]),
        "the selected labels by name and parent, without the model's confidence"
    );
    assert_eq!(
        json_attribute(&html, element, "exclusion-category"),
        json!({"name": "None of these apply"})
    );
    // The Or, its two leaves, and the nested And with its two leaves.
    assert_eq!(count(&html, "ModerationLabelConfidenceCheck</strong>"), 3);
    assert_eq!(count(&html, "Sampling</strong>"), 1);
    assert!(html.contains("all of:"));
    assert_eq!(count(&html, "&#10004; held"), 3);
    assert!(html.contains("(version 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY)"));
}

/// A built-in input with the hostile text wherever item data reaches the page.
fn hostile_builtin_input() -> Value {
    let s3 = json!({"bucket": HOSTILE, "name": format!("{HOSTILE}.png"), "version": HOSTILE});
    let leaf = json!({"ConditionType": HOSTILE, "ConditionParameters": {
        HOSTILE: HOSTILE, "ImportantFormKey": HOSTILE, "ImportantFormKeyAliases": [HOSTILE, "it's"],
        "ModerationLabelName": HOSTILE}, "EvaluationResult": true});
    let conditions = json!({"Conditions": [
        leaf.clone(),
        {"Or": [leaf.clone(), {"And": [leaf.clone(), {"Or": [leaf]}], "EvaluationResult": false}], "EvaluationResult": true}
    ]});
    json!({
        "aiServiceRequest": {"document": {"s3Object": s3}, "image": {"s3Object": s3}},
        "humanTaskActivationConditionResults": conditions,
        "selectedAiServiceResponse": {
            "blocks": [
                {"blockType": "KEY_VALUE_SET", "id": HOSTILE, "entityTypes": ["KEY"],
                 "relationships": [{"type": "CHILD", "ids": [HOSTILE]}, {"type": "VALUE", "ids": ["v'1"]}]},
                {"blockType": "KEY_VALUE_SET", "id": "v'1", "entityTypes": ["VALUE"],
                 "relationships": [{"type": "CHILD", "ids": ["w'2"]}]},
                {"blockType": "WORD", "id": HOSTILE, "text": HOSTILE},
                {"blockType": "WORD", "id": "w'2", "text": "it's \"quoted\" & <b>bold</b>"}
            ],
            "moderationLabels": [
                {"name": HOSTILE, "parentName": HOSTILE, "confidence": 99.0},
                {"name": "it's \"quoted\"", "parentName": ""}
            ]
        }
    })
}

#[test]
fn hostile_built_in_input_renders_inert_and_reaches_the_elements_intact() {
    let input = hostile_builtin_input();
    for (kind, element) in BUILTIN_TEMPLATES {
        let html = render_builtin(kind, &input);
        assert_no_markup_from_data(kind, &html, "markup, quotes and Liquid in built-in data");
        assert!(
            html.contains("&lt;script&gt;alert("),
            "{kind}: shown as text"
        );
        // The attributes still carry the data exactly, for the element to show as text.
        let src = attribute(&html, element, "src").unwrap();
        assert!(
            src.starts_with("https://s3.amazonaws.com/%3Cscript%3E"),
            "{kind}: {src}"
        );
    }
    let html = render_builtin("builtin-textract-forms", &input);
    assert_eq!(
        json_attribute(&html, "crowd-textract-analyze-document", "initial-value"),
        input["selectedAiServiceResponse"]["blocks"]
    );
    let keys = json_attribute(&html, "crowd-textract-analyze-document", "keys");
    assert_eq!(
        keys.as_array().unwrap().len(),
        3,
        "leaves to two levels: {keys}"
    );
    assert!(keys
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["importantFormKey"] == HOSTILE));
    let html = render_builtin("builtin-rekognition-moderation", &input);
    assert_eq!(
        json_attribute(
            &html,
            "crowd-rekognition-detect-moderation-labels",
            "categories"
        ),
        json!([{"name": HOSTILE, "parentName": HOSTILE}, {"name": "it's \"quoted\"", "parentName": ""}])
    );
}

#[test]
fn built_in_templates_render_inputs_missing_their_optional_parts() {
    let cases = [
        ("an empty input", json!({})),
        (
            "a document sent as bytes and no conditions",
            json!({"aiServiceRequest": {"document": {"bytes": {"sha256": "00", "length": 3}},
                   "image": {"bytes": {"sha256": "00", "length": 3}}},
                   "humanTaskActivationConditionResults": {},
                   "selectedAiServiceResponse": {"blocks": [], "moderationLabels": []}}),
        ),
        (
            "conditions and selections of the wrong types",
            json!({"humanTaskActivationConditionResults": {"Conditions": "x"},
                   "selectedAiServiceResponse": {"blocks": {"a": 1}, "moderationLabels": [1, null, {"parentName": "p"}, {}]}}),
        ),
        (
            "nodes without results or parameters",
            json!({"humanTaskActivationConditionResults": {"Conditions": [
                {"ConditionType": "Sampling"}, {"Or": [{}, 3, null, {"And": "x"}]}, {"And": []}, null
            ]}}),
        ),
        (
            "an s3Object without a bucket",
            json!({"aiServiceRequest": {"document": {"s3Object": {"name": "k"}}, "image": {"s3Object": {"name": "k"}}}}),
        ),
    ];
    for (case, input) in cases {
        for (kind, element) in BUILTIN_TEMPLATES {
            let result = render(kind, &input);
            if case == "an s3Object without a bucket" {
                // grant_read_access refuses it, naming the member, not a value.
                let errors = result.unwrap_err();
                assert_eq!(errors[0].code, codes::GRANT_READ_ACCESS, "{kind}");
                assert!(
                    errors[0].message.contains("without a bucket member"),
                    "{kind}: {errors:?}"
                );
                continue;
            }
            let html = result.unwrap_or_else(|e| panic!("{kind} with {case}: {e:?}"));
            assert_no_markup_from_data(kind, &html, case);
            assert!(html.contains(&format!("<{element}")), "{kind} with {case}");
            assert_eq!(
                attribute(&html, element, "src").as_deref(),
                Some(""),
                "{kind} with {case}"
            );
        }
    }
}

#[test]
fn built_in_templates_use_their_element_and_a2i_filters_only_in_attributes() {
    let elements = regex::Regex::new(r"<(crowd-[a-z-]+)").unwrap();
    for (kind, element) in BUILTIN_TEMPLATES {
        let source = template_source(kind);
        assert!(source.contains(
            r#"<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>"#
        ));
        assert!(!source.contains("skip_autoescape"), "{kind}");
        for c in elements.captures_iter(&source) {
            assert!(
                ["crowd-form", element].contains(&&c[1]),
                "{kind}: {}",
                &c[1]
            );
        }
        // Every to_json sits inside a single-quoted attribute value (to_json writes no ').
        for (at, _) in source.match_indices("to_json") {
            let before = &source[..at];
            let open = before.rfind("='").expect("to_json inside ='…'");
            assert!(
                !source[open + 2..at].contains('\''),
                "{kind}: to_json outside an attribute"
            );
            assert!(
                !source[open..at].contains('\n'),
                "{kind}: to_json outside an attribute"
            );
        }
        // A slip in a variable name is an error, not a silent blank.
        let slipped = source
            .replace(
                "task.input.aiServiceRequest.document.s3Object.bucket }}",
                "task.input.aiServiceRequest.document.s3Object.buckt }}",
            )
            .replace(
                "task.input.aiServiceRequest.image.s3Object.bucket }}",
                "task.input.aiServiceRequest.image.s3Object.buckt }}",
            );
        assert_ne!(slipped, source, "{kind}");
        let input = builtin_input(if kind.contains("textract") {
            "textract-forms"
        } else {
            "rekognition-moderation"
        });
        let errors = render_with(
            &parse_template(&slipped).unwrap(),
            &input,
            &PreviewPresign,
            &Limits::human_loop(),
        )
        .unwrap_err();
        assert_eq!(errors[0].code, codes::UNDEFINED_VARIABLE, "{kind}");
    }
}

/// `source` with runs of white space made one space (indentation may differ between
/// templates), from the first `from` to the first `to` after it.
fn normalized_block(source: &str, from: &str, to: &str) -> String {
    let source = source.split_whitespace().collect::<Vec<_>>().join(" ");
    let start = source.find(from).expect("the block's first line");
    let end = start + source[start..].find(to).expect("the block's last line") + to.len();
    source[start..end].to_owned()
}

/// A2I uploads every template alone (no includes, and a2i-local refuses `include`), so the
/// blocks the templates share are copies; this keeps the copies identical, so a fix to one
/// reaches every template.
#[test]
fn the_why_it_is_here_blocks_the_templates_share_are_identical() {
    let custom: Vec<(&str, String)> = ["forms", "generic", "moderation", "predictions"]
        .into_iter()
        .map(|kind| {
            let block = normalized_block(
                &template_source(kind),
                "{% for reason in task.input.activationReasons %}",
                "{% endfor %} </ul> </section>",
            );
            (kind, block)
        })
        .collect();
    assert!(
        custom[0].1.contains("task.input.conditionExplanation"),
        "{}",
        custom[0].1
    );
    for (kind, block) in &custom[1..] {
        assert_eq!(block, &custom[0].1, "{kind} differs from {}", custom[0].0);
    }

    // The built-in templates show A2I's evaluation tree the same way; only the noun differs.
    let builtin: Vec<(&str, String)> = [
        ("builtin-textract-forms", "document"),
        ("builtin-rekognition-moderation", "image"),
    ]
    .into_iter()
    .map(|(kind, noun)| {
        let block = normalized_block(
            &template_source(kind),
            "<h3>Why this",
            "No activation conditions were recorded for this",
        )
        .replace(noun, "NOUN");
        (kind, block)
    })
    .collect();
    assert!(
        builtin[0].1.contains("humanTaskActivationConditionResults"),
        "{}",
        builtin[0].1
    );
    assert_eq!(builtin[1].1, builtin[0].1, "the built-in templates differ");
}
