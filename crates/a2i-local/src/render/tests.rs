//! Unit tests of the renderer against AWS's documented examples and the chosen semantics.

use super::*;

fn ok(template: &str, input: &str) -> String {
    match render_str(template, input, &NoPresign) {
        Ok(html) => html,
        Err(errors) => panic!("render failed: {errors:?}"),
    }
}

fn err(template: &str, input: &str) -> RenderingError {
    match render_str(template, input, &NoPresign) {
        Ok(html) => panic!("render succeeded: {html}"),
        Err(mut errors) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            errors.remove(0)
        }
    }
}

#[test]
fn aws_documented_filter_examples_render_as_documented() {
    let template = concat!(
        "auto-escape: {{ \"Have you read 'James & the Giant Peach'?\" }}\n",
        "explicit escape: {{ \"Have you read 'James & the Giant Peach'?\" | escape }}\n",
        "explicit escape_once: {{ \"Have you read 'James &amp; the Giant Peach'?\" | escape_once }}\n",
        "skip_autoescape: {{ \"Have you read 'James & the Giant Peach'?\" | skip_autoescape }}\n",
    );
    assert_eq!(
        ok(template, "{}"),
        concat!(
            "auto-escape: Have you read &#39;James &amp; the Giant Peach&#39;?\n",
            "explicit escape: Have you read &#39;James &amp; the Giant Peach&#39;?\n",
            "explicit escape_once: Have you read &#39;James &amp; the Giant Peach&#39;?\n",
            "skip_autoescape: Have you read 'James & the Giant Peach'?\n",
        )
    );
}

#[test]
fn outputs_of_input_values_are_escaped_and_scripts_stay_inert() {
    let html = ok(
        r#"<div title="{{ task.input.t }}" data-x='{{ task.input.t }}'>{{ task.input.t }}</div>"#,
        r#"{"t": "<script>alert(\"x\")</script>'&"}"#,
    );
    assert_eq!(
        html,
        "<div title=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;\" \
         data-x='&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;'>\
         &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;</div>"
    );
}

#[test]
fn skip_autoescape_emits_the_value_raw() {
    assert_eq!(
        ok(
            "{{ task.input.h | skip_autoescape }}",
            r#"{"h": "<b>bold</b>"}"#
        ),
        "<b>bold</b>"
    );
}

#[test]
fn liquid_in_input_values_is_text_not_template() {
    assert_eq!(
        ok(
            "{{ task.input.t }}",
            r#"{"t": "{{ task.input.t }}{% if true %}x{% endif %}"}"#
        ),
        "{{ task.input.t }}{% if true %}x{% endif %}"
    );
}

#[test]
fn the_crowd_script_tag_is_left_as_written() {
    let template = "<script src=\"https://assets.crowd.aws/crowd-html-elements.js\"></script>\n\
                    <crowd-form><p>{{ task.input.q }}</p></crowd-form>";
    assert_eq!(
        ok(template, r#"{"q": "Is it ok?"}"#),
        "<script src=\"https://assets.crowd.aws/crowd-html-elements.js\"></script>\n\
         <crowd-form><p>Is it ok?</p></crowd-form>"
    );
}

/// Decodes the entities auto-escape produces (what a browser does to an attribute value).
fn decode_entities(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn to_json_in_a_single_quoted_attribute_cannot_break_out_and_decodes_to_the_json() {
    let input = r#"{"labels": ["it's", "a \"quote\"", "<b>&</b>", "x' onmouseover='alert(1)"]}"#;
    let html = ok(
        "<c categories='{{ task.input.labels | to_json }}'></c>",
        input,
    );
    let inner = html
        .strip_prefix("<c categories='")
        .and_then(|h| h.strip_suffix("'></c>"))
        .expect("one attribute");
    assert!(!inner.contains(['\'', '<', '>', '"']), "{inner}");
    let decoded: serde_json::Value = serde_json::from_str(&decode_entities(inner)).unwrap();
    let expected: serde_json::Value = serde_json::from_str(input).unwrap();
    assert_eq!(decoded, expected["labels"]);
}

#[test]
fn to_json_with_skip_autoescape_is_script_safe_json() {
    let html = ok(
        "<script>var x = {{ task.input | to_json | skip_autoescape }};</script>",
        r#"{"t": "</script><script>alert(1)</script>", "n": 8, "c": [59, 76]}"#,
    );
    assert_eq!(
        html,
        r#"<script>var x = {"c":[59,76],"n":8,"t":"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e"};</script>"#
    );
}

#[test]
fn arrays_and_objects_output_as_escaped_json() {
    assert_eq!(
        ok(
            r#"<x initial-value="{{ task.input.blocks }}"></x>"#,
            r#"{"blocks": [{"id": "a", "text": "K&V"}]}"#
        ),
        r#"<x initial-value="[{&quot;id&quot;:&quot;a&quot;,&quot;text&quot;:&quot;K&amp;V&quot;}]"></x>"#
    );
}

/// Records what it was asked to presign.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<(String, String)>>);

impl Presign for Recorder {
    fn presign_get(&self, bucket: &str, key: &str) -> Result<String, PresignError> {
        self.0
            .lock()
            .unwrap()
            .push((bucket.to_owned(), key.to_owned()));
        Ok(format!(
            "https://signed.example/{bucket}/{key}?X-Amz-Signature=abc&X-Amz-Expires=900"
        ))
    }
}

#[test]
fn grant_read_access_presigns_s3_uris_and_the_documented_https_forms() {
    let recorder = Recorder::default();
    let template = concat!(
        "{{ \"s3://examplebucket/myphoto.png\" | grant_read_access }}\n",
        "{% capture s3_arn %}http://s3.amazonaws.com/{{ task.input.b }}/{{ task.input.k }}{% endcapture %}",
        "<img src=\"{{ s3_arn | grant_read_access }}\">\n",
        "{{ task.input.uri | grant_read_access }}",
    );
    let html = render_str(
        template,
        r#"{"b": "bucket", "k": "dir/a b.png", "uri": "https://s3.amazonaws.com/b2/k2"}"#,
        &recorder,
    )
    .unwrap();
    assert_eq!(
        html,
        "https://signed.example/examplebucket/myphoto.png?X-Amz-Signature=abc&amp;X-Amz-Expires=900\n\
         <img src=\"https://signed.example/bucket/dir/a b.png?X-Amz-Signature=abc&amp;X-Amz-Expires=900\">\n\
         https://signed.example/b2/k2?X-Amz-Signature=abc&amp;X-Amz-Expires=900"
    );
    assert_eq!(
        *recorder.0.lock().unwrap(),
        vec![
            ("examplebucket".to_owned(), "myphoto.png".to_owned()),
            ("bucket".to_owned(), "dir/a b.png".to_owned()),
            ("b2".to_owned(), "k2".to_owned()),
        ]
    );
}

#[test]
fn grant_read_access_presigns_a_built_in_s3_object_map_with_its_version() {
    let template = concat!(
        "<img src=\"{{ task.input.aiServiceRequest.document.s3Object | grant_read_access }}\">\n",
        "{{ task.input.versioned | grant_read_access }}\n",
        "{{ task.input.pascal | grant_read_access }}",
    );
    let input = r#"{
        "aiServiceRequest": {"document": {"s3Object": {"bucket": "forms", "name": "in/a b+1.png"}}},
        "versioned": {"bucket": "b", "name": "k", "version": "3/L4kqtJl"},
        "pascal": {"Bucket": "B", "Name": "K", "Version": null}
    }"#;
    let html = render_str(template, input, &PreviewPresign).unwrap();
    assert_eq!(
        html,
        "<img src=\"https://s3.amazonaws.com/forms/in/a%20b%2B1.png?a2i-preview=not-presigned\">\n\
         https://s3.amazonaws.com/b/k?versionId=3%2FL4kqtJl&amp;a2i-preview=not-presigned\n\
         https://s3.amazonaws.com/B/K?a2i-preview=not-presigned"
    );
    // A presigner that cannot name versions refuses a versioned object.
    let recorder = Recorder::default();
    let e = render_str(
        "{{ task.input.versioned | grant_read_access }}",
        input,
        &recorder,
    )
    .unwrap_err()
    .remove(0);
    assert_eq!(e.code, codes::GRANT_READ_ACCESS);
    assert!(!e.message.contains("L4kqtJl"), "{e}");
}

#[test]
fn grant_read_access_on_an_incomplete_s3_object_names_the_member_not_the_value() {
    for (input, expected) in [
        (r#"{"o": {"name": "SECRET"}}"#, "without a bucket member"),
        (r#"{"o": {"bucket": "SECRET"}}"#, "without a name member"),
        (
            r#"{"o": {"bucket": "SECRET", "name": 3}}"#,
            "whose name is not a string (its type is whole number)",
        ),
        (
            r#"{"o": {"bucket": "", "name": "SECRET"}}"#,
            "whose bucket is empty",
        ),
        (
            r#"{"o": {"bucket": "b", "name": "SECRET", "version": ["x"]}}"#,
            "whose version is not a string (its type is array)",
        ),
    ] {
        let e = err("{{ task.input.o | grant_read_access }}", input);
        assert_eq!(e.code, codes::GRANT_READ_ACCESS, "{input}");
        assert!(e.message.contains(expected), "{input}: {e}");
        assert!(!e.message.contains("SECRET"), "{e}");
    }
}

#[test]
fn grant_read_access_on_something_else_fails_without_showing_it() {
    let e = err(
        "{{ task.input.u | grant_read_access }}",
        r#"{"u": "https://evil.example/SECRET-PATH"}"#,
    );
    assert_eq!(e.code, codes::GRANT_READ_ACCESS);
    assert!(!e.message.contains("SECRET"), "{e}");
    assert!(e.message.contains("string of 32 characters"), "{e}");
}

#[test]
fn grant_read_access_without_a_presigner_fails_the_render() {
    let e = err("{{ \"s3://b/SECRET\" | grant_read_access }}", "{}");
    assert_eq!(e.code, codes::GRANT_READ_ACCESS);
    assert!(!e.message.contains("SECRET"), "{e}");
}

#[test]
fn an_undefined_variable_fails_the_render_naming_it_and_its_position() {
    let e = err("<p>\n  {{ task.input.missing }}</p>", r#"{"text": "x"}"#);
    assert_eq!(e.code, codes::UNDEFINED_VARIABLE);
    assert_eq!(
        e.message,
        "Liquid error: undefined variable task.input.missing (line 2, column 6)"
    );
    let e = err("{{ nosuch }}", "{}");
    assert_eq!(
        e.message,
        "Liquid error: undefined variable nosuch (line 1, column 4)"
    );
    let e = err(
        "{% for l in task.input.labels %}{{ l.nme }}{% endfor %}",
        r#"{"labels": [{"name": "a"}]}"#,
    );
    assert_eq!(
        e.message,
        "Liquid error: undefined variable l.nme (line 1, column 36)"
    );
    let e = err("{{ task.input.items[3] }}", r#"{"items": [1]}"#);
    assert_eq!(
        e.message,
        "Liquid error: undefined variable task.input.items[3] (line 1, column 4)"
    );
    let e = err("{% if task.input.kind == \"a\" %}{% endif %}", "{}");
    assert_eq!(e.code, codes::UNDEFINED_VARIABLE);
    let e = err("{{ task.input.missing | default: \"x\" }}", "{}");
    assert_eq!(e.code, codes::UNDEFINED_VARIABLE);
}

#[test]
fn an_existence_test_on_a_missing_field_is_false_not_an_error() {
    let template =
        "{% if task.input.note %}note: {{ task.input.note }}{% else %}no note{% endif %}\
                    {% unless task.input.flag %}, no flag{% endunless %}\
                    {% if task.input.a and task.input.a == 1 %}, a{% endif %}\
                    {% if task.input.x.y.z or task.input.b %}, b{% endif %}";
    assert_eq!(ok(template, r#"{"b": true}"#), "no note, no flag, b");
    assert_eq!(
        ok(template, r#"{"note": "hi", "a": 1, "flag": 1}"#),
        "note: hi, a"
    );
}

#[test]
fn errors_never_show_input_values() {
    let cases = [
        (
            "{{ task.input.map[task.input.key] }}",
            r#"{"map": {}, "key": "SECRETKEY"}"#,
        ),
        (
            "{% for x in task.input.s %}{% endfor %}",
            r#"{"s": "SECRET"}"#,
        ),
        ("{{ task.input.s | divided_by: 0 }}", r#"{"s": 10}"#),
        (
            "{{ task.input.s | plus: task.input.o }}",
            r#"{"s": "SECRET", "o": {"SECRET": 1}}"#,
        ),
        (
            "{{ task.input.s | slice: task.input.s }}",
            r#"{"s": "SECRET"}"#,
        ),
        (
            "{% for i in (1..task.input.s) %}{% endfor %}",
            r#"{"s": "SECRET"}"#,
        ),
        (
            "{{ task.input.s | truncate: task.input.s }}",
            r#"{"s": "SECRET"}"#,
        ),
        (
            "{{ task.input.s[task.input.s] }}",
            r#"{"s": {"a": "SECRET"}}"#,
        ),
    ];
    for (template, input) in cases {
        let e = err(template, input);
        assert!(!e.message.contains("SECRET"), "{template}: {e}");
    }
}

#[test]
fn syntax_errors_name_the_position() {
    let e = parse_template("line 1\n{{ task.input | nosuchfilter }}").unwrap_err();
    assert_eq!(e[0].code, codes::TEMPLATE_SYNTAX);
    assert!(e[0].message.contains("nosuchfilter"), "{}", e[0].message);
    let e = parse_template("a\n\n{% if x %}unclosed").unwrap_err();
    assert_eq!(e[0].code, codes::TEMPLATE_SYNTAX);
    let e = parse_template("x {{ a b }}").unwrap_err();
    assert!(e[0].message.contains("1:"), "{}", e[0].message);
    for unsupported in [
        "{% include 'x' %}",
        "{% render 'x' %}",
        "{% tablerow x in y %}{% endtablerow %}",
    ] {
        assert_eq!(
            parse_template(unsupported).unwrap_err()[0].code,
            codes::TEMPLATE_SYNTAX
        );
    }
}

#[test]
fn standard_tags_and_filters_work() {
    let template = concat!(
        "{% assign n = task.input.items | size %}{{ n }}|",
        "{% for i in task.input.items limit: 3 offset: 1 reversed %}{{ forloop.index }}:{{ i }}{% unless forloop.last %},{% endunless %}{% endfor %}|",
        "{% for i in (1..5) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}|",
        "{% for i in task.input.none %}x{% else %}empty{% endfor %}|",
        "{% case task.input.kind %}{% when \"img\" %}image{% else %}other{% endcase %}|",
        "{% capture c %}{{ task.input.kind | upcase }}-{{ n | plus: 1 }}{% endcapture %}{{ c }}|",
        "{{ task.input.items | join: \", \" }}|",
        "{% for p in task.input.obj %}{{ p[0] }}={{ p[1] }};{% endfor %}|",
        "{% for o in (1..2) %}{% for i in (1..2) %}{{ forloop.parentloop.index }}{{ i }} {% endfor %}{% endfor %}|",
        "{% cycle 'a', 'b' %}{% cycle 'a', 'b' %}|{% increment k %}{% increment k %}",
    );
    assert_eq!(
        ok(
            template,
            r#"{"items": ["a", "b", "c", "d", "e"], "none": [], "kind": "img", "obj": {"z": 1, "a": 2}}"#
        ),
        "5|1:d,2:c,3:b|13|empty|image|IMG-6|a, b, c, d, e|a=2;z=1;|11 12 21 22 |ab|01"
    );
}

fn small() -> Limits {
    Limits {
        max_output_bytes: 1_000,
        max_value_bytes: 1_000,
        max_variables_bytes: 3_000,
        max_iterations: 1_000,
        max_work_bytes: 100_000,
        ..Limits::default()
    }
}

fn err_with(template: &str, input: &str, limits: &Limits) -> RenderingError {
    match render_str_with(template, input, &NoPresign, limits) {
        Ok(html) => panic!("render succeeded ({} bytes)", html.len()),
        Err(mut errors) => errors.remove(0),
    }
}

#[test]
fn a_huge_range_fails_on_the_iteration_budget_without_materialising_it() {
    // With the defaults, whichever bound comes first (iterations, or time on a slow debug
    // build); a materialised range would exhaust memory instead.
    let e = err("{% for i in (1..1000000000000) %}{% endfor %}", "{}");
    assert_eq!(e.code, codes::LIMIT_EXCEEDED, "{e}");
    let e = err_with(
        "{% for i in (1..1000000000000) %}{% endfor %}",
        "{}",
        &small(),
    );
    assert_eq!(
        e.message,
        "Liquid error: loops ran more than 1000 iterations in all"
    );
    let e = err_with(
        "{% for a in (1..100) %}{% for b in (1..100) %}{% endfor %}{% endfor %}",
        "{}",
        &small(),
    );
    assert_eq!(e.code, codes::LIMIT_EXCEEDED);
    // Iterations count across loops, not per loop.
    let e = err_with(
        "{% for a in (1..600) %}{% endfor %}{% for b in (1..600) %}{% endfor %}",
        "{}",
        &small(),
    );
    assert_eq!(e.code, codes::LIMIT_EXCEEDED);
}

#[test]
fn output_larger_than_the_limit_fails() {
    let e = err_with("{% for a in (1..900) %}xx{% endfor %}", "{}", &small());
    assert_eq!(e.code, codes::LIMIT_EXCEEDED);
    assert!(e.message.contains("1000 bytes"), "{e}");
}

#[test]
fn growing_values_fail_on_the_value_and_variable_limits() {
    let doubling = "{% assign s = \"0123456789\" %}{% for i in (1..20) %}{% assign s = s | append: s %}{% endfor %}";
    let e = err_with(doubling, "{}", &small());
    assert_eq!(e.code, codes::LIMIT_EXCEEDED, "{e}");
    let capture = "{% capture c %}{% for i in (1..200) %}0123456789{% endfor %}{% endcapture %}";
    let e = err_with(capture, "{}", &small());
    assert_eq!(e.code, codes::LIMIT_EXCEEDED, "{e}");
    let many = (0..10)
        .map(|i| format!("{{% assign v{i} = task.input.s %}}"))
        .collect::<String>();
    let e = err_with(
        &many,
        &format!(r#"{{"s": "{}"}}"#, "x".repeat(900)),
        &small(),
    );
    assert_eq!(e.code, codes::LIMIT_EXCEEDED, "{e}");
    assert!(e.message.contains("variables"), "{e}");
}

#[test]
fn work_and_time_are_bounded() {
    let limits = Limits {
        max_work_bytes: 10_000,
        ..Limits::default()
    };
    let e = err_with(
        "{% for i in (1..1000) %}{% assign x = task.input.s | upcase %}{% endfor %}",
        &format!(r#"{{"s": "{}"}}"#, "x".repeat(100)),
        &limits,
    );
    assert_eq!(e.code, codes::LIMIT_EXCEEDED);
    assert!(e.message.contains("work"), "{e}");
    let limits = Limits {
        max_duration: Duration::ZERO,
        ..Limits::default()
    };
    let e = err_with("{% for i in (1..10) %}{{ i }}{% endfor %}", "{}", &limits);
    assert!(e.message.contains("longer than 0 ms"), "{e}");
}

#[test]
fn template_input_and_nesting_sizes_are_bounded() {
    let e = parse_template(&"x".repeat(128_001)).unwrap_err();
    assert_eq!(e[0].code, codes::LIMIT_EXCEEDED);
    assert!(parse_template(&"x".repeat(128_000)).is_ok());
    let e = err("x", &format!(r#"{{"s": "{}"}}"#, "x".repeat(128_000)));
    assert_eq!(e.code, codes::LIMIT_EXCEEDED);
    let deep = "{% if a %}".repeat(65) + &"{% endif %}".repeat(65);
    let e = parse_template(&deep).unwrap_err();
    assert_eq!(e[0].code, codes::LIMIT_EXCEEDED);
    assert!(
        e[0].message.contains("line 1, column 641"),
        "{}",
        e[0].message
    );
    let ok_depth = "{% if a %}".repeat(64) + "x" + &"{% endif %}".repeat(64);
    assert!(parse_template(&ok_depth).is_ok());
    let e = err("x", &("[".repeat(200) + &"]".repeat(200)));
    assert_eq!(e.code, codes::INVALID_INPUT);
    let deep_value: serde_json::Value =
        (0..200).fold(serde_json::json!(1), |v, _| serde_json::json!([v]));
    let t = parse_template("{{ task.input | to_json }}").unwrap();
    assert_eq!(
        render(&t, &deep_value, &NoPresign).unwrap_err()[0].code,
        codes::LIMIT_EXCEEDED
    );
}

#[test]
fn invalid_input_json_is_reported_without_its_text() {
    let e = err("x", r#"{"a": SECRET}"#);
    assert_eq!(e.code, codes::INVALID_INPUT);
    assert!(!e.message.contains("SECRET"), "{e}");
    assert!(e.message.contains("line 1, column"), "{e}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A template whose own markup has exactly four `<` and which puts the value in text,
    /// in both kinds of attribute, through filters and through `to_json`.
    const TEMPLATE: &str = "<p title=\"{{ task.input.v }}\" data-j='{{ task.input.v | to_json }}'>\
        {{ task.input.v | upcase | append: task.input.v }}{{ task.input.list }}</p>\
        <i>{{ task.input.v | escape_once }}</i>";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn hostile_values_never_add_markup(value in any::<String>(), extra in "[<>&'\"{}%a-z ]{0,40}") {
            let input = serde_json::json!({"v": format!("{value}{extra}"), "list": [value, extra, {"k": "<&>"}]});
            let html = render_str(TEMPLATE, &input.to_string(), &NoPresign).unwrap();
            prop_assert_eq!(html.matches('<').count(), 4);
            prop_assert_eq!(html.matches('>').count(), 4);
            // The single-quoted attribute holds exactly the JSON of the value.
            let start = html.find("data-j='").unwrap() + 8;
            let end = start + html[start..].find('\'').unwrap();
            let decoded: serde_json::Value = serde_json::from_str(&decode_entities(&html[start..end])).unwrap();
            prop_assert_eq!(&decoded, &input["v"]);
        }

        #[test]
        fn any_template_text_parses_or_fails_cleanly(template in "[{}%|a-z .\"'()\\[\\]0-9-]{0,80}") {
            if let Ok(t) = parse_template(&template) {
                let _ = render(&t, &serde_json::json!({"a": [1, 2], "b": "x"}), &NoPresign);
            }
        }
    }
}
