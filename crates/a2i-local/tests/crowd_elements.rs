//! a2i-local's Crowd HTML Elements in a real headless Chromium: a person clicks and types in a
//! task page, submits, and the exact answerContent each element produces is checked against
//! AWS's documented examples (shared/reference/review-workflow-facts.md §1). Also: `required`
//! and `onsubmit` handlers block a submit, unsupported elements are visible, item markup stays
//! inert, and the submit URL receives `{"answerContent": …}` as JSON.
//!
//! Needs Chromium and chromedriver (`bash scripts/browser.sh`); without them these tests fail.

mod crowd;

use crowd::{Canned, Harness};
use serde_json::{json, Value};

#[tokio::test]
async fn checkboxes_sharing_a_name_merge_into_one_object_with_unchecked_as_false() {
    let h = Harness::start().await;
    h.open(
        "/checkbox",
        r#"<crowd-form>
             <crowd-checkbox name="image_attributes" value="blurry">Blurry</crowd-checkbox>
             <crowd-checkbox name="image_attributes" value="dim">Dim</crowd-checkbox>
             <crowd-checkbox name="image_attributes" value="exposed">Over-exposed</crowd-checkbox>
             <crowd-checkbox name="consent">I checked the image</crowd-checkbox>
           </crowd-form>"#,
    )
    .await;
    h.click("crowd-checkbox[value=blurry] label").await;
    h.click("crowd-checkbox[value=dim] label").await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({
            "image_attributes": {"blurry": true, "dim": true, "exposed": false},
            "consent": {"on": false}
        })
    );
    h.finish().await;
}

#[tokio::test]
async fn radio_buttons_in_a_group_answer_one_boolean_each_and_exclude_each_other() {
    let h = Harness::start().await;
    h.open(
        "/radio",
        r#"<crowd-form>
             <crowd-radio-group>
               <crowd-radio-button name="btn1" value="yes">Yes</crowd-radio-button>
               <crowd-radio-button name="btn2" value="no">No</crowd-radio-button>
             </crowd-radio-group>
           </crowd-form>"#,
    )
    .await;
    h.click("crowd-radio-button[name=btn1] label").await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({"btn1": {"yes": true}, "btn2": {"no": false}})
    );
    h.click("crowd-radio-button[name=btn2] label").await;
    h.submit().await;
    assert_eq!(
        h.answer_number(2).await,
        json!({"btn1": {"yes": false}, "btn2": {"no": true}})
    );
    h.finish().await;
}

#[tokio::test]
async fn toggle_button_answers_its_value_with_a_boolean() {
    let h = Harness::start().await;
    h.open(
        "/toggle",
        r#"<crowd-form>
             <crowd-toggle-button name="theToggler">Switch me</crowd-toggle-button>
             <crowd-toggle-button name="untouched" value="flag"></crowd-toggle-button>
           </crowd-form>"#,
    )
    .await;
    h.click("crowd-toggle-button[name=theToggler] input").await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({"theToggler": {"on": true}, "untouched": {"flag": false}})
    );
    h.finish().await;
}

#[tokio::test]
async fn text_fields_answer_strings_defaults_count_and_empty_ones_are_left_out() {
    let h = Harness::start().await;
    h.open(
        "/text",
        r#"<crowd-form>
             <crowd-input name="company" label="Company"></crowd-input>
             <crowd-input name="country" label="Country" value="Germany"></crowd-input>
             <crowd-input name="notes" label="Notes (optional)"></crowd-input>
             <crowd-input name="amount" type="number" label="Amount"></crowd-input>
             <crowd-text-area name="transcription" label="Transcription"></crowd-text-area>
           </crowd-form>"#,
    )
    .await;
    h.type_into("crowd-input[name=company] input", "Example GmbH")
        .await;
    h.type_into("crowd-input[name=amount] input", "12.50").await;
    h.type_into("crowd-text-area textarea", "first line\nsecond line")
        .await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({
            "company": "Example GmbH",
            "country": "Germany",
            "amount": "12.50",
            "transcription": "first line\nsecond line"
        })
    );
    h.finish().await;
}

#[tokio::test]
async fn plain_html_controls_are_submitted_as_strings_including_ones_filled_by_onsubmit() {
    let h = Harness::start().await;
    h.open(
        "/native",
        r#"<crowd-form>
             <label>Receipt date <input type="date" name="receiptDate"></label>
             <input type="hidden" name="faces">
             <select name="currency"><option>EUR</option><option>USD</option></select>
             <input type="checkbox" name="paid" value="yes">
             <input type="text" name="empty">
           </crowd-form>
           <script>
             document.querySelector('crowd-form').onsubmit = function () {
               document.querySelector('input[name=faces]').value =
                 JSON.stringify([{left: 1, top: 2}]);
             };
           </script>"#,
    )
    .await;
    // The date field takes the digits of the date in the browser's (en-US) field order.
    h.type_into("input[name=receiptDate]", "03142024").await;
    h.click("select[name=currency]").await;
    h.click("select[name=currency] option:nth-child(2)").await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({
            "receiptDate": "2024-03-14",
            "faces": "[{\"left\":1,\"top\":2}]",
            "currency": "USD"
        })
    );
    h.finish().await;
}

#[tokio::test]
async fn slider_answers_a_number() {
    let h = Harness::start().await;
    h.open(
        "/slider",
        r#"<crowd-form>
             <crowd-slider name="confidence" min="0" max="100" step="5" value="30" label="Confidence"></crowd-slider>
             <crowd-slider name="untouched" min="1" max="9"></crowd-slider>
           </crowd-form>"#,
    )
    .await;
    let right = fantoccini::key::Key::Right.to_string();
    h.type_into(
        "crowd-slider[name=confidence] input[type=range]",
        &format!("{right}{right}"),
    )
    .await;
    assert_eq!(h.text("crowd-slider[name=confidence] output").await, "40");
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({"confidence": 40, "untouched": 5})
    );
    h.finish().await;
}

#[tokio::test]
async fn classifier_answers_the_chosen_label_and_blocks_a_submit_without_a_choice() {
    let h = Harness::start().await;
    h.open(
        "/classifier",
        r#"<crowd-form>
             <crowd-classifier name="category" header="Is this claim fraudulent?"
                 categories='["Legitimate", "Needs furthur review", "Other"]'>
               <classification-target><p id="claim">Claim 17: 3 invoices for one repair.</p></classification-target>
               <full-instructions header="How to decide"><p>Read the whole claim.</p></full-instructions>
               <short-instructions>Choose the best category.</short-instructions>
             </crowd-classifier>
           </crowd-form>"#,
    )
    .await;
    assert!(
        h.displayed("#claim").await,
        "the classification target is shown"
    );
    assert_eq!(
        h.text("crowd-classifier h2").await,
        "Is this claim fraudulent?"
    );
    h.submit().await;
    h.wait_for_js("return !document.querySelector('.crowd-local-form-errors').hidden;")
        .await;
    assert!(h
        .text(".crowd-local-form-errors")
        .await
        .contains("Is this claim fraudulent? — Choose a category."));
    assert!(
        h.answers().await.is_empty(),
        "nothing is submitted without a choice"
    );

    h.click("crowd-classifier label:nth-of-type(2)").await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({"category": {"label": "Needs furthur review"}})
    );
    h.finish().await;
}

#[tokio::test]
async fn classifier_accepts_the_single_quoted_category_lists_of_aws_examples() {
    let h = Harness::start().await;
    h.open(
        "/classifier-quotes",
        r#"<crowd-form>
             <crowd-classifier-multi-select name="topics" header="Topics"
                 categories="['World', 'Sports', 'Business']">
               <classification-target>A match report.</classification-target>
             </crowd-classifier-multi-select>
           </crowd-form>"#,
    )
    .await;
    h.click("crowd-classifier-multi-select label:nth-of-type(1)")
        .await;
    h.click("crowd-classifier-multi-select label:nth-of-type(2)")
        .await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({"topics": {"labels": ["World", "Sports"]}})
    );
    h.finish().await;
}

#[tokio::test]
async fn image_classifier_answers_the_label_and_a_worker_comment_only_when_written() {
    let h = Harness::start().await;
    // A 1x1 PNG as a data: URL (the browser cannot download anything).
    let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    h.open(
        "/image-classifier",
        &format!(
            r#"<crowd-form>
                 <crowd-image-classifier name="crowd-image-classifier" src="{png}"
                     header="What does the X-ray show?" categories='["Covid-19 Detectado", "Normal"]'>
                   <full-instructions header="Instructions">Look closely.</full-instructions>
                   <short-instructions>Pick one.</short-instructions>
                   <worker-comment header="Anything unusual?" link-text="Add a comment" placeholder="Optional"></worker-comment>
                 </crowd-image-classifier>
               </crowd-form>"#
        ),
    )
    .await;
    h.wait_for_js("var i = document.querySelector('img.crowd-local-image'); return i.complete && i.naturalWidth === 1;")
        .await;
    h.click("crowd-image-classifier label:nth-of-type(1)").await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({"crowd-image-classifier": {"label": "Covid-19 Detectado"}})
    );
    h.click(".crowd-local-comment button").await;
    h.type_into(".crowd-local-comment textarea", "Low contrast")
        .await;
    h.submit().await;
    assert_eq!(
        h.answer_number(2).await,
        json!({"crowd-image-classifier": {"label": "Covid-19 Detectado", "workerComment": "Low contrast"}})
    );
    h.finish().await;
}

#[tokio::test]
async fn required_fields_block_the_submit_and_are_named_until_filled() {
    let h = Harness::start().await;
    h.open(
        "/required",
        r#"<crowd-form>
             <crowd-input name="summary" label="Summary" required></crowd-input>
             <crowd-input name="code" label="Code" min-length="3"></crowd-input>
             <crowd-checkbox name="confirm" required>I read the document</crowd-checkbox>
             <crowd-text-area name="reason" label="Reason"></crowd-text-area>
           </crowd-form>"#,
    )
    .await;
    h.type_into("crowd-input[name=code] input", "ab").await;
    h.submit().await;
    h.wait_for_js("return !document.querySelector('.crowd-local-form-errors').hidden;")
        .await;
    let problems = h.text(".crowd-local-form-errors").await;
    assert!(
        problems.contains("Summary — This field is required."),
        "{problems}"
    );
    assert!(
        problems.contains("Code — Enter at least 3 characters."),
        "{problems}"
    );
    assert!(
        problems.contains("confirm — This must be selected."),
        "{problems}"
    );
    assert!(
        !problems.contains("Reason"),
        "an optional empty field is fine: {problems}"
    );
    assert_eq!(
        h.js("return document.querySelector('crowd-input[name=summary] input').getAttribute('aria-invalid');")
            .await,
        json!("true")
    );
    assert!(h.answers().await.is_empty());

    h.type_into("crowd-input[name=summary] input", "Looks fine")
        .await;
    h.type_into("crowd-input[name=code] input", "c").await;
    h.click("crowd-checkbox[name=confirm] label").await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({"summary": "Looks fine", "code": "abc", "confirm": {"on": true}})
    );
    assert!(h
        .js("return document.querySelector('.crowd-local-form-errors').hidden;")
        .await
        .as_bool()
        .unwrap_or(false));
    h.finish().await;
}

#[tokio::test]
async fn an_onsubmit_handler_calling_prevent_default_blocks_the_submit() {
    let h = Harness::start().await;
    h.open(
        "/onsubmit",
        r#"<crowd-form>
             <crowd-input name="total" label="Total"></crowd-input>
             <crowd-alert id="problem" type="error" dismissible hidden>The total must be a number.</crowd-alert>
           </crowd-form>
           <script>
             document.querySelector('crowd-form').onsubmit = function (e) {
               var total = document.querySelector('crowd-input[name=total]').value;
               if (!/^[0-9]+$/.test(total)) {
                 e.preventDefault();
                 document.getElementById('problem').hidden = false;
               }
             };
           </script>"#,
    )
    .await;
    h.type_into("crowd-input[name=total] input", "twelve").await;
    h.submit().await;
    h.wait_for_js("return !document.getElementById('problem').hidden;")
        .await;
    assert!(
        h.answers().await.is_empty(),
        "preventDefault blocks the submit"
    );
    // The worker dismisses the alert and corrects the value.
    h.click("#problem .crowd-local-alert-close").await;
    assert!(
        !h.displayed("#problem").await,
        "a dismissed alert is hidden"
    );
    h.js("document.querySelector('crowd-input[name=total] input').value = '';")
        .await;
    h.type_into("crowd-input[name=total] input", "12").await;
    h.submit().await;
    assert_eq!(h.answer_number(1).await, json!({"total": "12"}));
    h.finish().await;
}

#[tokio::test]
async fn unsupported_crowd_elements_show_a_visible_box_and_their_answer_is_missing() {
    let h = Harness::start().await;
    h.open(
        "/unsupported",
        r#"<crowd-form>
             <crowd-bounding-box name="annotatedResult" src="x.png" labels='["bicycle"]'>
               <full-instructions>Draw boxes.</full-instructions>
             </crowd-bounding-box>
             <crowd-input name="note" label="Note"></crowd-input>
           </crowd-form>
           <script>
             // Added later by a script: still shown, never a silent gap.
             var late = document.createElement('crowd-keypoint');
             late.setAttribute('name', 'points');
             document.querySelector('crowd-form').appendChild(late);
           </script>"#,
    )
    .await;
    assert!(
        h.displayed("crowd-bounding-box .crowd-local-unsupported-box")
            .await
    );
    let text = h
        .text("crowd-bounding-box .crowd-local-unsupported-box")
        .await;
    assert!(
        text.contains("Not supported locally: <crowd-bounding-box>."),
        "{text}"
    );
    assert!(
        text.contains("\"annotatedResult\" will be missing"),
        "{text}"
    );
    h.wait_for_js(
        "return !!document.querySelector('crowd-keypoint .crowd-local-unsupported-box');",
    )
    .await;
    assert!(h
        .text(".crowd-local-actions .crowd-local-note")
        .await
        .contains("crowd-bounding-box"));
    h.type_into("crowd-input[name=note] input", "n").await;
    h.submit().await;
    assert_eq!(h.answer_number(1).await, json!({"note": "n"}));
    h.finish().await;
}

#[tokio::test]
async fn item_markup_in_attributes_and_text_stays_inert() {
    let h = Harness::start().await;
    // What a renderer produces from item data with `| escape`: markup arrives as text.
    h.open(
        "/inert",
        r#"<crowd-form>
             <crowd-classifier name="verdict"
                 header="&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;"
                 categories='["&lt;b&gt;bold&lt;/b&gt;", "&lt;script&gt;window.__pwned=2&lt;/script&gt;"]'>
               <classification-target>&lt;script&gt;window.__pwned=3&lt;/script&gt;&lt;crowd-input name="injected"&gt;&lt;/crowd-input&gt;</classification-target>
             </crowd-classifier>
             <crowd-card heading="&lt;img src=y onerror=&quot;window.__pwned=4&quot;&gt;">card</crowd-card>
           </crowd-form>"#,
    )
    .await;
    assert_eq!(
        h.text("crowd-classifier h2").await,
        r#"<img src=x onerror="window.__pwned=1">"#
    );
    assert_eq!(
        h.js("return window.__pwned === undefined;").await,
        json!(true)
    );
    assert_eq!(
        h.js("return document.querySelectorAll('img, script[src=x], crowd-input, b').length;")
            .await,
        json!(0)
    );
    assert!(h
        .text("classification-target")
        .await
        .contains("<crowd-input name=\"injected\">"));
    h.click("crowd-classifier label:nth-of-type(2)").await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({"verdict": {"label": "<script>window.__pwned=2</script>"}})
    );
    assert_eq!(
        h.js("return window.__pwned === undefined;").await,
        json!(true)
    );
    h.finish().await;
}

#[tokio::test]
async fn a_submit_url_receives_the_answer_content_as_json_and_a_refusal_allows_a_retry() {
    let h = Harness::start().await;
    h.reply_to_posts(
        "/tasks/7/submit",
        vec![
            Canned {
                status: 409,
                body: r#"{"message":"the task time limit has passed"}"#.to_owned(),
            },
            Canned {
                status: 200,
                body: r#"{"ok":true}"#.to_owned(),
            },
        ],
    );
    h.open(
        "/tasks/7",
        r#"<crowd-form data-submit-url="/tasks/7/submit">
             <crowd-toggle-button name="theToggler" checked></crowd-toggle-button>
             <crowd-button form-action="submit">Send my answer</crowd-button>
           </crowd-form>
           <script>
             window.__submitted = [];
             document.addEventListener('crowd-submitted', function (e) { window.__submitted.push(e.detail.status); });
           </script>"#,
    )
    .await;
    assert!(
        !h.displayed(".crowd-local-submit").await,
        "no automatic Submit button next to a crowd-button form-action=submit"
    );
    h.click("crowd-button[form-action=submit] button").await;
    h.wait_for_js("var r = document.querySelector('.crowd-local-result'); return r.textContent.indexOf('HTTP 409') >= 0;")
        .await;
    assert!(h
        .text(".crowd-local-result")
        .await
        .contains("the task time limit has passed"));
    h.click("crowd-button[form-action=submit] button").await;
    h.wait_for_js("return window.__submitted.length === 1;")
        .await;
    assert!(h
        .text(".crowd-local-result")
        .await
        .contains("Your answer was submitted."));
    let posts = h.posts();
    assert_eq!(posts.len(), 2);
    for (path, content_type, body) in &posts {
        assert_eq!(path, "/tasks/7/submit");
        assert_eq!(content_type, "application/json");
        assert_eq!(
            body,
            &json!({"answerContent": {"theToggler": {"on": true}}})
        );
    }
    assert!(
        h.answers().await.is_empty(),
        "no crowd-submit event when a URL is set"
    );
    h.finish().await;
}

#[tokio::test]
async fn layout_elements_render_their_content_and_add_nothing_to_the_answer() {
    let h = Harness::start().await;
    h.open(
        "/layout",
        r#"<crowd-form>
             <crowd-instructions link-text="Read the instructions" link-type="button">
               <short-summary><p id="summary">Classify each claim.</p></short-summary>
               <detailed-instructions><p>Take your time.</p></detailed-instructions>
               <positive-example>A clear invoice.</positive-example>
               <negative-example>A blurry photo.</negative-example>
             </crowd-instructions>
             <crowd-card heading="Claim 17"><p id="card-body">Three invoices.</p></crowd-card>
             <crowd-alert type="warning">Check the totals.</crowd-alert>
             <crowd-button id="plain">Does nothing</crowd-button>
           </crowd-form>"#,
    )
    .await;
    assert!(!h.displayed("#summary").await, "instructions start closed");
    h.click("crowd-instructions > button").await;
    assert!(h.displayed("#summary").await, "the instructions open");
    h.click("dialog .crowd-local-actions button").await;
    assert!(!h.displayed("#summary").await, "the instructions close");
    assert_eq!(h.text(".crowd-local-card h3").await, "Claim 17");
    assert!(h.displayed("#card-body").await);
    assert_eq!(
        h.js(
            "return document.querySelector('crowd-alert .crowd-local-alert').getAttribute('role');"
        )
        .await,
        json!("alert")
    );
    h.click("#plain button").await;
    h.submit().await;
    assert_eq!(h.answer_number(1).await, json!({}));
    h.finish().await;
}

#[tokio::test]
async fn the_script_is_served_by_a2i_local_as_javascript() {
    let local = a2i_local::LocalA2i::builder()
        .start()
        .await
        .expect("a2i-local starts");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let url: hyper::Uri = format!("{}{}", local.a2i_endpoint(), a2i_local::CROWD_ELEMENTS_PATH)
        .parse()
        .expect("a valid URL");
    let response = client.get(url).await.expect("the asset answers");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/javascript;charset=UTF-8"
    );
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("the body arrives")
        .to_bytes();
    assert_eq!(body.as_ref(), a2i_local::CROWD_ELEMENTS_JS.as_bytes());
    local.shutdown().await;
}

#[tokio::test]
async fn release_posts_to_the_configured_url_and_follows_its_redirect() {
    let h = Harness::start().await;
    h.add_page(
        "/queue",
        "<!DOCTYPE html><title>queue</title><p id=queue>Queue</p>",
    );
    h.reply_to_posts(
        "/tasks/9/release",
        vec![Canned {
            status: 200,
            body: r#"{"redirect":"/queue"}"#.to_owned(),
        }],
    );
    h.open(
        "/tasks/9",
        r#"<script>window.CROWD_LOCAL_RELEASE_URL = '/tasks/9/release';</script>
           <crowd-form><crowd-input name="x" label="X"></crowd-input></crowd-form>"#,
    )
    .await;
    h.click("crowd-form .crowd-local-release").await;
    h.wait_for_js("return location.pathname === '/queue' && !!document.getElementById('queue');")
        .await;
    let posts = h.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, "/tasks/9/release");
    assert_eq!(posts[0].2, json!({}));
    h.finish().await;
}

#[tokio::test]
async fn auto_validate_drops_characters_outside_allowed_pattern_and_shows_the_error_message() {
    let h = Harness::start().await;
    h.open(
        "/pattern",
        r#"<crowd-form>
             <crowd-input name="zip" label="ZIP code" auto-validate allowed-pattern="[0-9]"
                 max-length="5" error-message="Five digits, please"></crowd-input>
             <crowd-input name="email" type="email" label="E-mail" auto-validate
                 error-message="Not an e-mail address"></crowd-input>
           </crowd-form>"#,
    )
    .await;
    h.type_into("crowd-input[name=zip] input", "12a3-4b5").await;
    assert_eq!(
        h.js("return document.querySelector('crowd-input[name=zip]').value;")
            .await,
        json!("12345")
    );
    h.type_into("crowd-input[name=email] input", "nobody").await;
    assert_eq!(
        h.text("crowd-input[name=email] .crowd-local-error").await,
        "Not an e-mail address"
    );
    h.submit().await;
    h.wait_for_js("return !document.querySelector('.crowd-local-form-errors').hidden;")
        .await;
    assert!(h.answers().await.is_empty());
    h.type_into("crowd-input[name=email] input", "@example.com")
        .await;
    assert_eq!(
        h.text("crowd-input[name=email] .crowd-local-error").await,
        ""
    );
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({"zip": "12345", "email": "nobody@example.com"})
    );
    h.finish().await;
}

#[tokio::test]
async fn elements_work_when_the_script_comes_after_them_and_a_disabled_button_does_not_submit() {
    let h = Harness::start().await;
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>late</title>
           <script>window.__answers = []; document.addEventListener('crowd-submit',
             function (e) {{ window.__answers.push(e.detail.answerContent); }});</script></head>
           <body><crowd-form>
             <crowd-checkbox name="ok" checked>OK</crowd-checkbox>
             <crowd-button id="off" form-action="submit" disabled>Disabled submit</crowd-button>
             <crowd-button id="on" form-action="submit" variant="primary">Submit</crowd-button>
           </crowd-form>
           <script src="{}"></script></body></html>"#,
        h.script_url()
    );
    h.open_raw("/late", html).await;
    h.click("#off").await;
    h.click("#on button").await;
    assert_eq!(h.answer_number(1).await, json!({"ok": {"on": true}}));
    assert_eq!(
        h.answers().await.len(),
        1,
        "the disabled button submitted nothing"
    );
    h.finish().await;
}

#[tokio::test]
async fn the_script_tags_submit_url_is_used_when_the_form_has_none() {
    let h = Harness::start().await;
    h.reply_to_posts(
        "/tasks/3/submit",
        vec![Canned {
            status: 200,
            body: String::new(),
        }],
    );
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>task 3</title></head>
           <body><script src="{}" data-submit-url="/tasks/3/submit"></script>
           <crowd-form>
             <crowd-text-area name="transcription" label="Transcription"></crowd-text-area>
           </crowd-form></body></html>"#,
        h.script_url()
    );
    h.open_raw("/tasks/3", html).await;
    h.type_into("crowd-text-area textarea", "hello").await;
    h.submit().await;
    h.wait_for_js("return document.querySelector('.crowd-local-submit').disabled;")
        .await;
    assert!(h
        .text(".crowd-local-result")
        .await
        .contains("Your answer was submitted."));
    let posts = h.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, "/tasks/3/submit");
    assert_eq!(
        posts[0].2,
        json!({"answerContent": {"transcription": "hello"}})
    );
    h.finish().await;
}

// ---------------------------------------------------------------- A2I built-in task types

const TEXTRACT: &str = "AWS/Textract/AnalyzeDocument/Forms/V1";
const REKOGNITION: &str = "AWS/Rekognition/DetectModerationLabels/Image/V3";

/// Replaces the text of an input (WebDriver clear, then typed key by key).
async fn retype(h: &Harness, css: &str, text: &str) {
    h.client
        .find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("no element {css}: {err}"))
        .clear()
        .await
        .unwrap_or_else(|err| panic!("cannot clear {css}: {err}"));
    h.type_into(css, text).await;
}

#[tokio::test]
async fn textract_element_answers_the_corrected_value_and_a_missing_key_as_camel_case_blocks() {
    let h = Harness::start().await;
    // The shipped template over a real-shaped built-in Textract input: one selected pair
    // ("Amount Due:" = "$86.50"), and the conditions' important keys, three of which the
    // selection has no pair for.
    let page = crowd::rendered_template(
        "builtin-textract-forms",
        &crowd::builtin_input("textract-forms"),
    );
    h.open("/textract", &page).await;
    let rows = ".crowd-local-pair";
    assert_eq!(
        h.js(&format!(
            "return document.querySelectorAll('{rows}').length;"
        ))
        .await,
        json!(4),
        "the pair, and Rental Number:, Deposit Paid: and Helmet ID: as missing keys"
    );
    assert_eq!(
        h.js("return Array.from(document.querySelectorAll('.crowd-local-key')).map(function (i) { return [i.value, i.readOnly]; });")
            .await,
        json!([["Amount Due:", true], ["Rental Number:", true], ["Deposit Paid:", true], ["Helmet ID:", true]]),
        "no-key-edit: keys are shown, not editable"
    );
    assert_eq!(
        h.js("return document.querySelector('.crowd-local-value').value;")
            .await,
        json!("$86.50")
    );
    assert!(
        !h.displayed(".crowd-local-add-pair").await,
        "no-key-edit: no added fields"
    );
    retype(
        &h,
        ".crowd-local-pair:nth-child(1) .crowd-local-value",
        "$96.50 USD",
    )
    .await;
    h.type_into(
        ".crowd-local-pair:nth-child(2) .crowd-local-value",
        "RN-0417",
    )
    .await;
    h.submit().await;
    let answer = h.answer_number(1).await;
    assert_eq!(answer.as_object().unwrap().len(), 1, "{answer}");
    let blocks = answer[TEXTRACT]["blocks"]
        .as_array()
        .expect("blocks")
        .clone();
    assert_eq!(blocks.len(), 11, "{blocks:#?}");
    // The reviewed pair keeps its ids; the second value word is new.
    assert_eq!(
        blocks[0],
        json!({"blockType": "WORD", "id": "f89697f3-cf25-438c-a6e4-cd2da97d4ab7", "text": "Amount"})
    );
    assert_eq!(
        blocks[1],
        json!({"blockType": "WORD", "id": "c822311f-9b32-4194-a828-b2ebb3c5d001", "text": "Due:"})
    );
    assert_eq!(
        blocks[2],
        json!({"blockType": "WORD", "id": "95adb506-60c6-4677-a47b-6e788c4d7bad", "text": "$96.50"})
    );
    assert_eq!(blocks[3]["blockType"], "WORD");
    assert_eq!(blocks[3]["text"], "USD");
    assert!(crowd::is_uuid_v4(&blocks[3]["id"]), "{}", blocks[3]);
    assert_eq!(
        blocks[4],
        json!({"blockType": "KEY_VALUE_SET", "id": "81740996-87a2-4621-a4e2-cdd7cc03b3da",
               "entityTypes": ["KEY"], "confidence": 38.90127,
               "relationships": [{"type": "VALUE", "ids": ["cc1d9c86-5e83-40c2-a566-dc724c663690"]},
                                 {"type": "CHILD", "ids": ["f89697f3-cf25-438c-a6e4-cd2da97d4ab7", "c822311f-9b32-4194-a828-b2ebb3c5d001"]}]})
    );
    assert_eq!(
        blocks[5],
        json!({"blockType": "KEY_VALUE_SET", "id": "cc1d9c86-5e83-40c2-a566-dc724c663690",
               "entityTypes": ["VALUE"], "confidence": 38.90127,
               "relationships": [{"type": "CHILD", "ids": ["95adb506-60c6-4677-a47b-6e788c4d7bad", blocks[3]["id"]]}]})
    );
    // The missing key the reviewer filled: new words, a new pair, no model confidence.
    let texts: Vec<&Value> = blocks[6..9].iter().map(|b| &b["text"]).collect();
    assert_eq!(
        texts,
        [&json!("Rental"), &json!("Number:"), &json!("RN-0417")]
    );
    let ids: Vec<Value> = blocks[6..11].iter().map(|b| b["id"].clone()).collect();
    assert!(ids.iter().all(crowd::is_uuid_v4), "{ids:?}");
    let mut unique = ids.clone();
    unique.sort_by_key(|v| v.to_string());
    unique.dedup();
    assert_eq!(unique.len(), 5, "fresh ids are distinct");
    assert_eq!(
        blocks[9],
        json!({"blockType": "KEY_VALUE_SET", "id": ids[3], "entityTypes": ["KEY"],
               "relationships": [{"type": "VALUE", "ids": [ids[4]]}, {"type": "CHILD", "ids": [ids[0], ids[1]]}]})
    );
    assert_eq!(
        blocks[10],
        json!({"blockType": "KEY_VALUE_SET", "id": ids[4], "entityTypes": ["VALUE"],
               "relationships": [{"type": "CHILD", "ids": [ids[2]]}]})
    );
    // Deposit Paid: and Helmet ID: were left empty: no pair for them.
    assert!(!answer.to_string().contains("Deposit"), "{answer}");
    assert!(!answer.to_string().contains("Helmet"), "{answer}");
    h.finish().await;
}

#[tokio::test]
async fn textract_element_with_key_editing_adds_a_field_and_shows_hostile_text_as_text() {
    let h = Harness::start().await;
    let hostile = "<img src=x onerror=\"window.__pwned=1\"> ' \" & {{ x }}";
    let blocks = json!([
        {"blockType": "KEY_VALUE_SET", "id": "k", "entityTypes": ["KEY"], "confidence": 12.5,
         "relationships": [{"type": "VALUE", "ids": ["v"]}, {"type": "CHILD", "ids": ["w1"]}]},
        {"blockType": "KEY_VALUE_SET", "id": "v", "entityTypes": ["VALUE"],
         "relationships": [{"type": "CHILD", "ids": ["w2", "s"]}]},
        {"blockType": "WORD", "id": "w1", "text": hostile},
        {"blockType": "WORD", "id": "w2", "text": "old"},
        {"blockType": "SELECTION_ELEMENT", "id": "s", "selectionStatus": "SELECTED"}
    ]);
    // Attribute-escaped as a template's auto-escape would write it.
    let attr = blocks
        .to_string()
        .replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    h.open(
        "/textract-edit",
        &format!(
            r#"<crowd-form>
                 <crowd-textract-analyze-document src="" header="Fix the fields"
                   initial-value='{attr}' block-types='["KEY_VALUE_SET"]'>
                 </crowd-textract-analyze-document>
               </crowd-form>"#
        ),
    )
    .await;
    assert_eq!(
        h.js("return document.querySelector('.crowd-local-key').value;")
            .await,
        json!(hostile)
    );
    assert_eq!(
        h.js("return [window.__pwned === undefined, document.querySelectorAll('img[src=x]').length];")
            .await,
        json!([true, 0])
    );
    assert!(h
        .text("crowd-textract-analyze-document .crowd-local-target")
        .await
        .contains("no document"));
    // Key editing is on: the key is corrected, and a field is added.
    retype(
        &h,
        ".crowd-local-pair:nth-child(1) .crowd-local-key",
        "Name:",
    )
    .await;
    retype(&h, ".crowd-local-pair:nth-child(1) .crowd-local-value", "").await;
    h.click(".crowd-local-add-pair").await;
    h.type_into(".crowd-local-pair:nth-child(2) .crowd-local-value", "42")
        .await;
    // A value without a key is refused, naming the problem.
    h.submit().await;
    h.wait_for_js("return !!document.querySelector('.crowd-local-form-errors li');")
        .await;
    assert!(h
        .text(".crowd-local-form-errors li")
        .await
        .contains("An added field has a value but no key."));
    h.type_into(".crowd-local-pair:nth-child(2) .crowd-local-key", "Age")
        .await;
    h.submit().await;
    let blocks = h.answer_number(1).await[TEXTRACT]["blocks"].clone();
    // The emptied value keeps its selection element and loses its word.
    assert_eq!(
        blocks[0],
        json!({"blockType": "WORD", "id": "w1", "text": "Name:"})
    );
    assert_eq!(
        blocks[1],
        json!({"blockType": "SELECTION_ELEMENT", "id": "s", "selectionStatus": "SELECTED"})
    );
    assert_eq!(
        blocks[2],
        json!({"blockType": "KEY_VALUE_SET", "id": "k", "entityTypes": ["KEY"], "confidence": 12.5,
               "relationships": [{"type": "VALUE", "ids": ["v"]}, {"type": "CHILD", "ids": ["w1"]}]})
    );
    assert_eq!(
        blocks[3],
        json!({"blockType": "KEY_VALUE_SET", "id": "v", "entityTypes": ["VALUE"],
               "relationships": [{"type": "CHILD", "ids": ["s"]}]})
    );
    assert_eq!(blocks[4]["text"], "Age");
    assert_eq!(blocks[5]["text"], "42");
    assert_eq!(blocks[6]["entityTypes"], json!(["KEY"]));
    assert_eq!(blocks[7]["entityTypes"], json!(["VALUE"]));
    assert_eq!(blocks.as_array().unwrap().len(), 8);
    h.finish().await;
}

#[tokio::test]
async fn textract_element_with_a_broken_initial_value_cannot_be_submitted() {
    let h = Harness::start().await;
    h.open(
        "/textract-broken",
        r#"<crowd-form>
             <crowd-textract-analyze-document src="doc.png" initial-value='[{"blockType": '>
             </crowd-textract-analyze-document>
           </crowd-form>"#,
    )
    .await;
    h.submit().await;
    h.wait_for_js("return !!document.querySelector('.crowd-local-form-errors li');")
        .await;
    assert!(h
        .text(".crowd-local-form-errors li")
        .await
        .contains("the initial-value attribute is not valid JSON"));
    assert!(h.answers().await.is_empty());
    h.finish().await;
}

#[tokio::test]
async fn rekognition_element_answers_the_ticked_labels_as_given_and_the_exclusion_as_empty() {
    let h = Harness::start().await;
    let page = crowd::rendered_template(
        "builtin-rekognition-moderation",
        &crowd::builtin_input("rekognition-moderation"),
    );
    h.open("/rekognition", &page).await;
    let choices = "crowd-rekognition-detect-moderation-labels label.crowd-local-choice";
    assert_eq!(
        h.js(&format!("return Array.from(document.querySelectorAll('{choices}')).map(function (l) {{ return l.textContent; }});"))
            .await,
        json!(["Suggestive", "Female Swimwear Or Underwear (in Suggestive)"])
    );
    // Nothing chosen: the submit is refused.
    h.submit().await;
    h.wait_for_js("return !!document.querySelector('.crowd-local-form-errors li');")
        .await;
    assert!(h
        .text(".crowd-local-form-errors li")
        .await
        .contains("Choose at least one category, or \"None of these apply\"."));
    h.click(&format!("{choices}:nth-of-type(2)")).await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({REKOGNITION: {"moderationLabels": [
            {"name": "Female Swimwear Or Underwear", "parentName": "Suggestive"}
        ]}})
    );
    // The exclusion clears the choice and answers an empty list.
    h.click(".crowd-local-exclusion").await;
    assert_eq!(
        h.js("return [document.querySelector('.crowd-local-exclusion').getAttribute('aria-pressed'), document.querySelectorAll('crowd-rekognition-detect-moderation-labels input:checked').length];")
            .await,
        json!(["true", 0])
    );
    h.submit().await;
    assert_eq!(
        h.answer_number(2).await,
        json!({REKOGNITION: {"moderationLabels": []}})
    );
    // Ticking a label again withdraws the exclusion.
    h.click(&format!("{choices}:nth-of-type(1)")).await;
    h.submit().await;
    assert_eq!(
        h.answer_number(3).await,
        json!({REKOGNITION: {"moderationLabels": [{"name": "Suggestive", "parentName": ""}]}})
    );
    h.finish().await;
}

#[tokio::test]
async fn rekognition_element_with_string_categories_answers_strings() {
    let h = Harness::start().await;
    h.open(
        "/rekognition-strings",
        r#"<crowd-form>
             <crowd-rekognition-detect-moderation-labels src="photo.png" header="Pick"
               categories='["Violence", "Drugs", "<b>x</b>"]'
               exclusion-category='{ name: "None of the above" }'>
             </crowd-rekognition-detect-moderation-labels>
             <crowd-input name="note" label="Note"></crowd-input>
           </crowd-form>"#,
    )
    .await;
    assert_eq!(
        h.text(".crowd-local-exclusion").await,
        "None of the above",
        "AWS's JavaScript-object form of exclusion-category"
    );
    assert_eq!(
        h.js("return document.querySelectorAll('crowd-rekognition-detect-moderation-labels b').length;")
            .await,
        json!(0),
        "category text is text"
    );
    h.click("crowd-rekognition-detect-moderation-labels label.crowd-local-choice:nth-of-type(3)")
        .await;
    h.click("crowd-rekognition-detect-moderation-labels label.crowd-local-choice:nth-of-type(1)")
        .await;
    h.submit().await;
    assert_eq!(
        h.answer_number(1).await,
        json!({REKOGNITION: {"moderationLabels": ["Violence", "<b>x</b>"]}})
    );
    h.finish().await;
}
