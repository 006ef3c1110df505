//! Screenshots of the built-in task types' review pages in a2i-local's worker portal, for the
//! README (`scripts/screenshots.sh` runs this), made in a real headless Chromium.
//!
//! a2i-local starts with the demo's raw-media flow definitions, task UIs and recorded model
//! answers; the demo's claim form and beach photo are uploaded and sent to Textract
//! `AnalyzeDocument` and Rekognition `DetectModerationLabels` with a `HumanLoopConfig`, as the
//! start function sends them; A2I's evaluation starts one loop for each, and each task page is
//! saved as `portal-task-builtin-<folder>.png` in the directory given as the first argument.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use a2i_local::{LocalA2i, LocalA2iHandle};
use a2i_review::builtin::TaskType;
use a2i_review_cli::demo::{self, INPUT_BUCKET, RAW_ROUTES, RAW_SAMPLES};
use aws_sdk_s3::primitives::ByteStream;
use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), String> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: builtin_screenshots OUT_DIR")?,
    );
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());

    let local = LocalA2i::builder()
        .resources(demo::builtin_resources())
        .recorded_analyses(demo::recorded_analyses().map_err(|e| e.to_string())?)
        .bucket(INPUT_BUCKET)
        .start()
        .await
        .map_err(|e| format!("a2i-local: {e}"))?;
    let result = run(&local, &chromium, &chromedriver, &out).await;
    local.shutdown().await;
    result
}

async fn run(
    local: &LocalA2iHandle,
    chromium: &str,
    chromedriver: &str,
    out: &Path,
) -> Result<(), String> {
    let mut shots = Vec::new();
    for route in RAW_ROUTES {
        // The first sample of the route is the one its conditions flag.
        let sample = RAW_SAMPLES
            .iter()
            .find(|s| s.folder == route.folder)
            .ok_or("a route without a sample")?;
        local
            .s3_client()
            .put_object()
            .bucket(INPUT_BUCKET)
            .key(sample.key())
            .body(ByteStream::from_static(sample.body))
            .send()
            .await
            .map_err(|e| format!("upload {}: {e:?}", sample.file))?;
        let loop_name = format!("{}-screenshot", route.loop_name_prefix);
        let started = analyse(
            local,
            route.task_type,
            &sample.key(),
            &route.flow_definition_arn(),
            &loop_name,
        )
        .await?;
        if !started {
            return Err(format!("no loop started for {}", sample.file));
        }
        shots.push((
            route.flow_name,
            format!("portal-task-builtin-{}.png", route.folder),
        ));
    }

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("a free port: {e}"))?;
    let mut driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{chromedriver}: {e} (bash scripts/browser.sh installs it)"))?;
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = driver.kill();
            return Err("chromedriver did not listen".to_owned());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let result = shoot(local, port, chromium, out, &shots).await;
    let _ = driver.kill();
    let _ = driver.wait();
    result
}

/// Sends the object to its service with a `HumanLoopConfig`, as the start function does;
/// whether A2I started the loop.
async fn analyse(
    local: &LocalA2iHandle,
    task_type: TaskType,
    key: &str,
    flow: &str,
    loop_name: &str,
) -> Result<bool, String> {
    let sdk = local.sdk_config();
    match task_type {
        TaskType::TextractForms => {
            use aws_sdk_textract::types::{Document, FeatureType, HumanLoopConfig, S3Object};
            let client = aws_sdk_textract::Client::from_conf(
                aws_sdk_textract::config::Builder::from(&sdk)
                    .endpoint_url(local.a2i_endpoint())
                    .build(),
            );
            let answer = client
                .analyze_document()
                .document(
                    Document::builder()
                        .s3_object(S3Object::builder().bucket(INPUT_BUCKET).name(key).build())
                        .build(),
                )
                .feature_types(FeatureType::Forms)
                .human_loop_config(
                    HumanLoopConfig::builder()
                        .human_loop_name(loop_name)
                        .flow_definition_arn(flow)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .send()
                .await
                .map_err(|e| format!("AnalyzeDocument: {e:?}"))?;
            Ok(answer
                .human_loop_activation_output()
                .and_then(|o| o.human_loop_arn())
                .is_some())
        }
        _ => {
            use aws_sdk_rekognition::types::{HumanLoopConfig, Image, S3Object};
            let client = aws_sdk_rekognition::Client::from_conf(
                aws_sdk_rekognition::config::Builder::from(&sdk)
                    .endpoint_url(local.a2i_endpoint())
                    .build(),
            );
            let answer = client
                .detect_moderation_labels()
                .image(
                    Image::builder()
                        .s3_object(S3Object::builder().bucket(INPUT_BUCKET).name(key).build())
                        .build(),
                )
                .human_loop_config(
                    HumanLoopConfig::builder()
                        .human_loop_name(loop_name)
                        .flow_definition_arn(flow)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .send()
                .await
                .map_err(|e| format!("DetectModerationLabels: {e:?}"))?;
            Ok(answer
                .human_loop_activation_output()
                .and_then(|o| o.human_loop_arn())
                .is_some())
        }
    }
}

async fn shoot(
    local: &LocalA2iHandle,
    port: u16,
    chromium: &str,
    out: &Path,
    shots: &[(&str, String)],
) -> Result<(), String> {
    let Value::Object(capabilities) = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--hide-scrollbars", "--window-size=1280,1000"]
        }
    }) else {
        unreachable!("a JSON object literal")
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .map_err(|e| format!("no Chromium session: {e}"))?;
    let e = |what: &'static str| move |err: fantoccini::error::CmdError| format!("{what}: {err}");
    client.goto(&local.portal_url()).await.map_err(e("open"))?;
    client
        .find(Locator::Css("#worker-name"))
        .await
        .map_err(e("worker field"))?
        .send_keys("ana")
        .await
        .map_err(e("type"))?;
    client
        .find(Locator::Css("#choose-worker"))
        .await
        .map_err(e("worker button"))?
        .click()
        .await
        .map_err(e("click"))?;
    client
        .wait()
        .for_element(Locator::Css(".flow"))
        .await
        .map_err(e("queue"))?;
    for (flow, file) in shots {
        client.goto(&local.portal_url()).await.map_err(e("open"))?;
        client
            .find(Locator::Css(&format!(
                ".flow[data-flow=\"{flow}\"] button.start"
            )))
            .await
            .map_err(e("start button"))?
            .click()
            .await
            .map_err(e("click"))?;
        client
            .wait()
            .for_element(Locator::Css("crowd-form .crowd-local-submit"))
            .await
            .map_err(e("task page"))?;
        // Images load from a2i-local's S3 through presigned URLs.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let png = client.screenshot().await.map_err(e("screenshot"))?;
        let path = out.join(file);
        std::fs::write(&path, &png).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("{} ({} bytes)", path.display(), png.len());
    }
    let _ = client.close().await;
    Ok(())
}
