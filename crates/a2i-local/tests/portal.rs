//! The worker portal in a real headless Chromium: a person picks a worker name, takes a task
//! from the queue, fills every field of a shipped template and submits; output.json then
//! carries exactly those answers. Also: a required field blocks the submit, TaskCount 2 needs
//! two distinct workers, a hold past its time limit goes back to the queue, item markup is
//! inert. Needs Chromium and chromedriver (`bash scripts/browser.sh`); fails without them.

mod common;

use std::net::{TcpListener as StdListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use a2i_local::{LocalA2iBuilder, LoopStatus, RecordedAnalyses, Resources};
use aws_sdk_sagemakera2iruntime::types::HumanLoopInput;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use common::Local;

const INSTALL_HINT: &str = "run `bash scripts/browser.sh` (installs Debian's chromium and \
     chromium-driver with apt), or set CHROMIUM and CHROMEDRIVER to their paths";
const WAIT: Duration = Duration::from_secs(20);
const WORKTEAM: &str = "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/local";
const ROLE: &str = "arn:aws:iam::111122223333:role/a2i-local";
const TEMPLATES: [&str; 4] = ["generic", "moderation", "forms", "predictions"];
const TEXTRACT: &str = "AWS/Textract/AnalyzeDocument/Forms/V1";
const REKOGNITION: &str = "AWS/Rekognition/DetectModerationLabels/Image/V3";
const TEXTRACT_CONDITIONS: &str = r#"{"Conditions":[{"Or":[
  {"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"Total:","ImportantFormKeyAliases":["Total"],"KeyValueBlockConfidenceLessThan":45,"WordBlockConfidenceLessThan":85}},
  {"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Policy Number:"}}]}]}"#;
const REKOGNITION_CONDITIONS: &str = r#"{"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck","ConditionParameters":{"ModerationLabelName":"Swimwear","ConfidenceGreaterThan":60}}]}"#;
/// The bucket the raw media is uploaded to.
const MEDIA_BUCKET: &str = "raw-media";
/// A real 2x2 PNG, so the task page can show that the presigned image loads.
const PNG: [u8; 73] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a,
    0x73, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x44, 0x0c, 0x10, 0x0a, 0x00, 0x1f, 0xee, 0x03, 0xfd, 0x8b, 0x5f, 0x14, 0xd4, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os(env).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(explicit);
        return path.is_file().then_some(path);
    }
    let path_var = std::env::var_os("PATH")?;
    std::env::split_paths(&path_var)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shipped templates as task UIs, one flow definition per template (`<name>-flow`) with
/// `task_count` workers, and a second generic flow with TaskCount 2 (`pair-flow`).
fn resources(task_count: u8) -> Resources {
    let mut resources = Resources::new();
    for name in TEMPLATES {
        let content =
            std::fs::read_to_string(repo_file(&format!("worker-templates/{name}.liquid.html")))
                .expect("the shipped template");
        resources = resources
            .human_task_ui(format!("{name}-ui"), content)
            .flow_definition(json!({
                "FlowDefinitionName": format!("{name}-flow"),
                "HumanLoopConfig": {
                    "HumanTaskUiName": format!("{name}-ui"),
                    "WorkteamArn": WORKTEAM,
                    "TaskTitle": format!("Review ({name})"),
                    "TaskDescription": format!("Check the {name} item"),
                    "TaskKeywords": ["review", name],
                    "TaskCount": task_count,
                    "TaskTimeLimitInSeconds": 300
                },
                "OutputConfig": {"S3OutputPath": "s3://a2i-local-output/reviews"},
                "RoleArn": ROLE
            }));
    }
    // The built-in task types: A2I's request source and activation conditions on the flow.
    for (name, source, conditions) in [
        ("builtin-textract-forms", TEXTRACT, TEXTRACT_CONDITIONS),
        (
            "builtin-rekognition-moderation",
            REKOGNITION,
            REKOGNITION_CONDITIONS,
        ),
    ] {
        let content =
            std::fs::read_to_string(repo_file(&format!("worker-templates/{name}.liquid.html")))
                .expect("the shipped template");
        resources = resources
            .human_task_ui(format!("{name}-ui"), content)
            .flow_definition(json!({
                "FlowDefinitionName": format!("{name}-flow"),
                "HumanLoopRequestSource": {"AwsManagedHumanLoopRequestSource": source},
                "HumanLoopActivationConfig": {"HumanLoopActivationConditionsConfig": {
                    "HumanLoopActivationConditions": conditions
                }},
                "HumanLoopConfig": {
                    "HumanTaskUiName": format!("{name}-ui"),
                    "WorkteamArn": WORKTEAM,
                    "TaskTitle": format!("Review ({name})"),
                    "TaskDescription": "Check what the service read",
                    "TaskCount": task_count,
                    "TaskTimeLimitInSeconds": 300
                },
                "OutputConfig": {"S3OutputPath": "s3://a2i-local-output/reviews"},
                "RoleArn": ROLE
            }));
    }
    resources.flow_definition(json!({
        "FlowDefinitionName": "pair-flow",
        "HumanLoopConfig": {
            "HumanTaskUiName": "generic-ui",
            "WorkteamArn": WORKTEAM,
            "TaskTitle": "Two reviewers",
            "TaskDescription": "Two people check each item",
            "TaskCount": 2,
            "TaskTimeLimitInSeconds": 300
        },
        "OutputConfig": {"S3OutputPath": "s3://a2i-local-output/reviews"},
        "RoleArn": ROLE
    }))
}

/// A running a2i-local with the shipped templates and a browser session.
struct Portal {
    local: Local,
    client: Client,
    _driver: Driver,
}

impl Portal {
    async fn start(configure: impl FnOnce(LocalA2iBuilder) -> LocalA2iBuilder) -> Portal {
        let chromium = find_program("CHROMIUM", &["chromium", "chromium-browser"])
            .unwrap_or_else(|| panic!("Chromium was not found: {INSTALL_HINT}"));
        let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"])
            .unwrap_or_else(|| panic!("chromedriver was not found: {INSTALL_HINT}"));
        let local = common::start_with(|b| configure(b.resources(resources(1)))).await;
        let port = StdListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port for chromedriver");
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("chromedriver does not start ({err}); {INSTALL_HINT}"));
        let driver = Driver(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on port {port}; {INSTALL_HINT}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run", "--window-size=1280,1000"]
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|err| panic!("no Chromium session ({err}); {INSTALL_HINT}"));
        Portal {
            local,
            client,
            _driver: driver,
        }
    }

    async fn start_loop(&self, name: &str, flow: &str, input: &Value) {
        self.local
            .a2i()
            .start_human_loop()
            .human_loop_name(name)
            .flow_definition_arn(self.local.handle.flow_definition_arn(flow))
            .human_loop_input(
                HumanLoopInput::builder()
                    .input_content(input.to_string())
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("start {name}: {e:?}"));
    }

    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|err| panic!("script failed ({err}): {script}"))
    }

    async fn wait_for_js(&self, script: &str) {
        let started = Instant::now();
        while self.js(script).await != Value::Bool(true) {
            assert!(started.elapsed() < WAIT, "timed out waiting for: {script}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no element {css}: {err}"))
            .click()
            .await
            .unwrap_or_else(|err| panic!("cannot click {css}: {err}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no element {css}: {err}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("cannot type into {css}: {err}"));
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no element {css}: {err}"))
            .text()
            .await
            .unwrap_or_else(|err| panic!("no text for {css}: {err}"))
    }

    /// Opens the portal as `worker` (a new name replaces the cookie).
    async fn open_as(&self, worker: &str) {
        self.client
            .goto(&self.local.handle.portal_url())
            .await
            .expect("the portal opens");
        self.client
            .delete_all_cookies()
            .await
            .expect("cookies cleared");
        self.client
            .goto(&self.local.handle.portal_url())
            .await
            .expect("the portal opens");
        self.type_into("#worker-name", worker).await;
        self.click("#choose-worker").await;
        self.wait_for_js(&format!(
            "return document.getElementById('worker') !== null && document.getElementById('worker').textContent === {};",
            json!(worker)
        ))
        .await;
    }

    /// How many tasks of `flow` the queue offers the current worker.
    async fn waiting(&self, flow: &str) -> Option<u64> {
        self.client
            .goto(&self.local.handle.portal_url())
            .await
            .expect("the portal opens");
        self.js(&format!(
            "var c = document.querySelector('.flow[data-flow=\"{flow}\"] .waiting'); return c ? +c.textContent : null;"
        ))
        .await
        .as_u64()
    }

    /// "Start working" on `flow`; waits for the task page.
    async fn take(&self, flow: &str) {
        assert!(
            self.waiting(flow).await.unwrap_or(0) > 0,
            "the queue offers a task of {flow}"
        );
        self.click(&format!(".flow[data-flow=\"{flow}\"] button.start"))
            .await;
        self.wait_for_js(
            "return document.querySelector('crowd-form .crowd-local-submit') !== null;",
        )
        .await;
    }

    async fn choose(&self, nth: usize) -> String {
        let css =
            format!("crowd-classifier fieldset > label.crowd-local-choice:nth-of-type({nth})");
        self.click(&css).await;
        self.text(&css).await.trim().to_owned()
    }

    async fn submit_and_wait_done(&self) {
        self.click("crowd-form .crowd-local-submit").await;
        self.wait_for_js("return location.pathname.endsWith('/done');")
            .await;
    }

    async fn output_of(&self, loop_name: &str) -> Value {
        let described = self
            .local
            .a2i()
            .describe_human_loop()
            .human_loop_name(loop_name)
            .send()
            .await
            .expect("describe");
        assert_eq!(
            described.human_loop_status().map(|s| s.as_str()),
            Some("Completed")
        );
        let uri = described
            .human_loop_output()
            .and_then(|o| o.output_s3_uri().map(str::to_owned))
            .expect("an output URI");
        let (bucket, key) = uri
            .strip_prefix("s3://")
            .and_then(|r| r.split_once('/'))
            .expect("an s3 URI");
        let body = self
            .local
            .s3()
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("output.json")
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes();
        serde_json::from_slice(&body).expect("output.json is JSON")
    }

    fn status(&self, loop_name: &str) -> LoopStatus {
        self.local
            .handle
            .human_loop(loop_name)
            .map(|r| r.status)
            .expect("the loop exists")
    }

    async fn finish(self) {
        let _ = self.client.close().await;
        self.local.handle.shutdown().await;
    }
}

fn sample_input(template: &str) -> Value {
    let file = match template {
        "moderation" => "moderation.json",
        "forms" => "forms.json",
        "predictions" => "predictions-line-2.json",
        _ => "predictions-line-4.json",
    };
    let text = std::fs::read_to_string(repo_file(&format!("sample-data/task-input/{file}")))
        .expect("the sample task input");
    serde_json::from_str(&text).expect("JSON")
}

/// One person's path through a shipped template: every field filled, then output.json.
async fn person_answers_template(template: &str) {
    let p = Portal::start(|b| b).await;
    let flow = format!("{template}-flow");
    let loop_name = format!("{template}-loop");
    p.start_loop(&loop_name, &flow, &sample_input(template))
        .await;
    p.open_as("ana").await;
    p.take(&flow).await;
    assert_eq!(p.text("#task-title").await, format!("Review ({template})"));
    let mut expected = serde_json::Map::new();
    let label = p.choose(2).await;
    expected.insert("decision".into(), json!({ "label": label }));
    if template == "moderation" {
        let values = p
            .js("return Array.from(document.querySelectorAll('crowd-checkbox[name=labelsConfirmed]')).map(e => e.getAttribute('value'));")
            .await;
        let values: Vec<String> = serde_json::from_value(values).expect("label names");
        assert!(!values.is_empty(), "the moderation sample has labels");
        p.click("crowd-checkbox[name=labelsConfirmed] label").await;
        let confirmed: serde_json::Map<String, Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), json!(i == 0)))
            .collect();
        expected.insert("labelsConfirmed".into(), Value::Object(confirmed));
    }
    if template == "forms" {
        p.type_into(
            "crowd-text-area[name=corrections] textarea",
            "Full name: Ana P. Pereira",
        )
        .await;
        expected.insert("corrections".into(), json!("Full name: Ana P. Pereira"));
    }
    p.type_into("crowd-text-area[name=comment] textarea", "Checked by hand")
        .await;
    expected.insert("comment".into(), json!("Checked by hand"));
    p.submit_and_wait_done().await;
    assert!(p.text("#loop-status").await.contains("Completed"));
    assert!(p.client.find(Locator::Css("#output-link")).await.is_ok());

    let output = p.output_of(&loop_name).await;
    let answers = output["humanAnswers"].as_array().expect("humanAnswers");
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["answerContent"], Value::Object(expected));
    assert_eq!(answers[0]["workerId"], "ana");
    assert_eq!(output["inputContent"], sample_input(template));
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_answers_the_generic_template_and_output_json_carries_the_answers() {
    person_answers_template("generic").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_answers_the_moderation_template_and_output_json_carries_the_answers() {
    person_answers_template("moderation").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_answers_the_forms_template_and_output_json_carries_the_answers() {
    person_answers_template("forms").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_answers_the_predictions_template_and_output_json_carries_the_answers() {
    person_answers_template("predictions").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_required_choice_left_empty_blocks_the_submit() {
    let p = Portal::start(|b| b).await;
    p.start_loop("l1", "generic-flow", &sample_input("generic"))
        .await;
    p.open_as("ana").await;
    p.take("generic-flow").await;
    p.click("crowd-form .crowd-local-submit").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(p
        .js("return location.pathname.endsWith('/done');")
        .await
        .eq(&Value::Bool(false)));
    assert_eq!(p.status("l1"), LoopStatus::InProgress);
    // The same page then submits once the choice is made.
    p.choose(1).await;
    p.submit_and_wait_done().await;
    assert_eq!(p.status("l1"), LoopStatus::Completed);
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_count_2_loop_needs_two_distinct_workers() {
    let p = Portal::start(|b| b).await;
    p.start_loop("pair", "pair-flow", &sample_input("generic"))
        .await;
    p.open_as("ana").await;
    p.take("pair-flow").await;
    let first = p.choose(1).await;
    p.submit_and_wait_done().await;
    assert!(p.text("#loop-status").await.contains("1 of 2"));
    assert_eq!(p.status("pair"), LoopStatus::InProgress);
    // Ana answered it: the queue has nothing for her.
    assert_eq!(p.waiting("pair-flow").await, Some(0));

    p.open_as("ben").await;
    assert_eq!(p.waiting("pair-flow").await, Some(1));
    p.take("pair-flow").await;
    let second = p.choose(2).await;
    p.submit_and_wait_done().await;
    assert!(p.text("#loop-status").await.contains("Completed"));

    let output = p.output_of("pair").await;
    let answers = output["humanAnswers"].as_array().expect("humanAnswers");
    let got: Vec<(Value, Value)> = answers
        .iter()
        .map(|a| {
            (
                a["workerId"].clone(),
                a["answerContent"]["decision"]["label"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(json!("ana"), json!(first)), (json!("ben"), json!(second))]
    );
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_held_past_its_time_limit_returns_to_the_queue_and_a_late_submit_is_refused() {
    let p = Portal::start(|b| b.portal_task_time_limit(Duration::from_secs(3))).await;
    p.start_loop("slow", "generic-flow", &sample_input("generic"))
        .await;
    p.open_as("ana").await;
    p.take("generic-flow").await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    // Ana's page, submitted late, gets a clear refusal and the loop stays open.
    p.choose(1).await;
    p.click("crowd-form .crowd-local-submit").await;
    p.wait_for_js("return document.body.innerText.includes('time for this task ran out');")
        .await;
    assert_eq!(p.status("slow"), LoopStatus::InProgress);
    // The task is back in the queue: Ben is offered it and can answer it.
    p.open_as("ben").await;
    assert_eq!(p.waiting("generic-flow").await, Some(1));
    p.take("generic-flow").await;
    p.choose(1).await;
    p.submit_and_wait_done().await;
    assert_eq!(
        p.output_of("slow").await["humanAnswers"][0]["workerId"],
        "ben"
    );
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn item_markup_renders_inert_on_the_task_page() {
    let p = Portal::start(|b| b).await;
    let mut input = sample_input("generic");
    input["taskObject"] = json!({
        "text": "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>"
    });
    input["activationReasons"] = json!(["<b onclick=\"window.__pwned=3\">bold</b>"]);
    p.start_loop("markup", "generic-flow", &input).await;
    p.open_as("ana").await;
    p.take("generic-flow").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        p.js("return window.__pwned === undefined;").await,
        json!(true)
    );
    assert_eq!(
        p.js("return document.querySelector('#task img[src=x]') === null && document.querySelector('#task b[onclick]') === null;")
            .await,
        json!(true)
    );
    assert_eq!(
        p.js("return document.body.innerText.includes('<b onclick=');")
            .await,
        json!(true)
    );
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_released_task_goes_back_to_the_queue() {
    let p = Portal::start(|b| b).await;
    p.start_loop("given-back", "generic-flow", &sample_input("generic"))
        .await;
    p.open_as("ana").await;
    p.take("generic-flow").await;
    p.click("crowd-form .crowd-local-release").await;
    p.wait_for_js("return location.pathname.endsWith('/_local/portal/');")
        .await;
    assert_eq!(p.waiting("generic-flow").await, Some(1));
    assert_eq!(p.status("given-back"), LoopStatus::InProgress);
    // Taken again and answered from the same queue.
    p.take("generic-flow").await;
    p.choose(3).await;
    p.submit_and_wait_done().await;
    assert_eq!(p.status("given-back"), LoopStatus::Completed);
    p.finish().await;
}

/// What the recorded services answer for the uploaded image (matched by bucket and key): a
/// receipt whose "Total" was read with low confidence and without a policy number, and a photo
/// with swimwear.
fn recorded_analyses() -> RecordedAnalyses {
    let mut recorded = RecordedAnalyses::empty();
    let form = json!({"service": "textract", "match": {"bucket": MEDIA_BUCKET, "key": "forms/receipt.png"},
    "response": {"DocumentMetadata": {"Pages": 1}, "AnalyzeDocumentModelVersion": "1.0", "Blocks": [
        {"BlockType": "PAGE", "Id": "p", "Page": 1, "Relationships": [{"Type": "CHILD", "Ids": ["w1", "w2"]}]},
        {"BlockType": "KEY_VALUE_SET", "Id": "k1", "EntityTypes": ["KEY"], "Confidence": 41.3, "Page": 1,
         "Geometry": {"BoundingBox": {"Left": 0.25, "Top": 0.5, "Width": 0.2, "Height": 0.1}},
         "Relationships": [{"Type": "VALUE", "Ids": ["v1"]}, {"Type": "CHILD", "Ids": ["w1"]}]},
        {"BlockType": "KEY_VALUE_SET", "Id": "v1", "EntityTypes": ["VALUE"], "Confidence": 41.3, "Page": 1,
         "Geometry": {"Polygon": [{"X": 0.5, "Y": 0.5}, {"X": 0.75, "Y": 0.5}, {"X": 0.75, "Y": 0.625}, {"X": 0.5, "Y": 0.625}]},
         "Relationships": [{"Type": "CHILD", "Ids": ["w2"]}]},
        {"BlockType": "WORD", "Id": "w1", "Text": "Total", "Confidence": 99.1, "Page": 1},
        {"BlockType": "WORD", "Id": "w2", "Text": "$148.99", "Confidence": 60.2, "Page": 1}
    ]}});
    let photo = json!({"service": "rekognition", "match": {"bucket": MEDIA_BUCKET, "key": "photos/beach.png"},
    "response": {"ModerationModelVersion": "7.0", "ModerationLabels": [
        {"Confidence": 88.5, "Name": "Swimwear", "ParentName": "Suggestive", "TaxonomyLevel": 2},
        {"Confidence": 55.0, "Name": "Suggestive", "ParentName": "", "TaxonomyLevel": 1}
    ]}});
    // The rest of the page: enough words that the loop's input is far over RenderUiTemplate's
    // 128,000 characters (the portal renders with the loop limits).
    let mut form = form;
    let blocks = form["response"]["Blocks"].as_array_mut().expect("blocks");
    for i in 0..2500 {
        blocks.push(
            json!({"BlockType": "WORD", "Id": format!("filler-{i}"), "Text": "lorem",
                           "Confidence": 99.0, "Page": 1}),
        );
    }
    for doc in [form, photo] {
        recorded
            .add_json(doc.to_string().as_bytes())
            .expect("a valid recording");
    }
    recorded
}

/// The portal with the media bucket (versioned) and the recorded analyses; uploads the PNG
/// as `key` and returns its version id.
async fn builtin_portal(key: &str) -> (Portal, String) {
    let p = Portal::start(|b| {
        b.bucket(MEDIA_BUCKET)
            .recorded_analyses(recorded_analyses())
    })
    .await;
    let s3 = p.local.s3();
    s3.put_bucket_versioning()
        .bucket(MEDIA_BUCKET)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning on");
    let put = s3
        .put_object()
        .bucket(MEDIA_BUCKET)
        .key(key)
        .content_type("image/png")
        .body(PNG.to_vec().into())
        .send()
        .await
        .expect("the image is uploaded");
    let version = put.version_id().expect("a versioned upload").to_owned();
    (p, version)
}

/// Waits until the element's image has loaded through its presigned URL.
async fn image_loads(p: &Portal, element: &str) {
    p.wait_for_js(&format!(
        "var i = document.querySelector('{element} img.crowd-local-image'); return !!i && i.complete && i.naturalWidth === 2;"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_corrects_a_built_in_textract_loop_and_output_json_carries_the_blocks() {
    let (p, version) = builtin_portal("forms/receipt.png").await;
    let conf = aws_sdk_textract::config::Builder::from(&p.local.handle.sdk_config())
        .endpoint_url(p.local.handle.a2i_endpoint())
        .build();
    let flow = "builtin-textract-forms-flow";
    let analysed = aws_sdk_textract::Client::from_conf(conf)
        .analyze_document()
        .document(
            aws_sdk_textract::types::Document::builder()
                .s3_object(
                    aws_sdk_textract::types::S3Object::builder()
                        .bucket(MEDIA_BUCKET)
                        .name("forms/receipt.png")
                        .version(&version)
                        .build(),
                )
                .build(),
        )
        .feature_types(aws_sdk_textract::types::FeatureType::Forms)
        .human_loop_config(
            aws_sdk_textract::types::HumanLoopConfig::builder()
                .human_loop_name("receipt-1")
                .flow_definition_arn(p.local.handle.flow_definition_arn(flow))
                .build()
                .expect("a loop config"),
        )
        .send()
        .await
        .expect("AnalyzeDocument");
    assert!(analysed
        .human_loop_activation_output()
        .and_then(|o| o.human_loop_arn())
        .is_some());

    let input_len = p
        .local
        .handle
        .human_loop("receipt-1")
        .expect("the loop")
        .input_content
        .len();
    assert!(input_len > 200_000, "{input_len}");
    p.open_as("ana").await;
    p.take(flow).await;
    let element = "crowd-textract-analyze-document";
    image_loads(&p, element).await;
    // Why it is here: the Or held through its first leaf.
    assert!(p
        .text("#task")
        .await
        .contains("ImportantFormKeyConfidenceCheck"));
    assert_eq!(
        p.js("return Array.from(document.querySelectorAll('.crowd-local-key')).map(function (i) { return i.value; });")
            .await,
        json!(["Total", "Policy Number:"]),
        "the flagged pair, and the missing key from the conditions"
    );
    // The pair is marked where it is on the document (from boundingBox, or the polygon's bounds).
    assert_eq!(
        p.js("return Array.from(document.querySelectorAll('.crowd-local-figure .crowd-local-box')).map(function (b) { return [b.className, b.style.left, b.style.top, b.style.width, b.style.height]; });")
            .await,
        json!([
            ["crowd-local-box crowd-local-box-key", "25%", "50%", "20%", "10%"],
            ["crowd-local-box crowd-local-box-value", "50%", "50%", "25%", "12.5%"]
        ])
    );
    let value = ".crowd-local-pair:nth-child(1) .crowd-local-value";
    p.client
        .find(Locator::Css(value))
        .await
        .expect("the value field")
        .clear()
        .await
        .expect("cleared");
    p.type_into(value, "$184.99").await;
    assert_eq!(
        p.js("return document.querySelectorAll('.crowd-local-box-active').length;")
            .await,
        json!(2),
        "working on a field highlights it on the document"
    );
    p.submit_and_wait_done().await;
    assert!(p.text("#loop-status").await.contains("Completed"));

    let output = p.output_of("receipt-1").await;
    let answers = output["humanAnswers"].as_array().expect("humanAnswers");
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["workerId"], "ana");
    assert_eq!(
        answers[0]["answerContent"],
        json!({TEXTRACT: {"blocks": [
            {"blockType": "WORD", "id": "w1", "text": "Total"},
            {"blockType": "WORD", "id": "w2", "text": "$184.99"},
            {"blockType": "KEY_VALUE_SET", "id": "k1", "entityTypes": ["KEY"], "confidence": 41.3,
             "relationships": [{"type": "VALUE", "ids": ["v1"]}, {"type": "CHILD", "ids": ["w1"]}]},
            {"blockType": "KEY_VALUE_SET", "id": "v1", "entityTypes": ["VALUE"], "confidence": 41.3,
             "relationships": [{"type": "CHILD", "ids": ["w2"]}]}
        ]}})
    );
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_confirms_a_built_in_moderation_loop_and_output_json_carries_the_labels() {
    let (p, version) = builtin_portal("photos/beach.png").await;
    let conf = aws_sdk_rekognition::config::Builder::from(&p.local.handle.sdk_config())
        .endpoint_url(p.local.handle.a2i_endpoint())
        .build();
    let flow = "builtin-rekognition-moderation-flow";
    aws_sdk_rekognition::Client::from_conf(conf)
        .detect_moderation_labels()
        .image(
            aws_sdk_rekognition::types::Image::builder()
                .s3_object(
                    aws_sdk_rekognition::types::S3Object::builder()
                        .bucket(MEDIA_BUCKET)
                        .name("photos/beach.png")
                        .version(&version)
                        .build(),
                )
                .build(),
        )
        .human_loop_config(
            aws_sdk_rekognition::types::HumanLoopConfig::builder()
                .human_loop_name("beach-1")
                .flow_definition_arn(p.local.handle.flow_definition_arn(flow))
                .build()
                .expect("a loop config"),
        )
        .send()
        .await
        .expect("DetectModerationLabels");

    p.open_as("ana").await;
    p.take(flow).await;
    let element = "crowd-rekognition-detect-moderation-labels";
    // The analysed version of the image, presigned with its versionId.
    image_loads(&p, element).await;
    assert_eq!(
        p.js(&format!("return document.querySelector('{element} img').getAttribute('src').includes('versionId=');"))
            .await,
        json!(true)
    );
    p.click(&format!(
        "{element} label.crowd-local-choice:nth-of-type(1)"
    ))
    .await;
    p.submit_and_wait_done().await;
    let output = p.output_of("beach-1").await;
    assert_eq!(
        output["humanAnswers"][0]["answerContent"],
        json!({REKOGNITION: {"moderationLabels": [{"name": "Swimwear", "parentName": "Suggestive"}]}})
    );
    p.finish().await;
}
