//! Screenshots of the worker portal for the README, made in a real headless Chromium
//! (`scripts/screenshots.sh` runs this): a2i-local starts with the shipped templates as task
//! UIs and one loop per template with its sample input; the queue and each template's task
//! page are saved as PNG files in the directory given as the first argument.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use a2i_local::{LocalA2i, Resources};
use aws_sdk_sagemakera2iruntime::types::HumanLoopInput;
use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

const TEMPLATES: [(&str, &str, &str); 4] = [
    (
        "moderation",
        "moderation.json",
        "Is this image safe to publish?",
    ),
    ("forms", "forms.json", "Are the form values right?"),
    (
        "predictions",
        "predictions-line-2.json",
        "Which label is right?",
    ),
    ("generic", "predictions-line-4.json", "Check a flagged item"),
];

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(repo_file(path)).map_err(|e| format!("{path}: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: portal_screenshots OUT_DIR")?,
    );
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());

    let mut resources = Resources::new();
    for (name, _, title) in TEMPLATES {
        resources = resources
            .human_task_ui(
                format!("{name}-ui"),
                read(&format!("worker-templates/{name}.liquid.html"))?,
            )
            .flow_definition(json!({
                "FlowDefinitionName": format!("{name}-review"),
                "HumanLoopConfig": {
                    "HumanTaskUiName": format!("{name}-ui"),
                    "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/local",
                    "TaskTitle": title,
                    "TaskDescription": format!("Items the {name} conditions flagged for a person to check."),
                    "TaskKeywords": ["review", name],
                    "TaskCount": 1,
                    "TaskTimeLimitInSeconds": 600
                },
                "OutputConfig": {"S3OutputPath": "s3://a2i-local-output/reviews"},
                "RoleArn": "arn:aws:iam::111122223333:role/a2i-local"
            }));
    }
    let local = LocalA2i::builder()
        .resources(resources)
        .start()
        .await
        .map_err(|e| format!("a2i-local: {e}"))?;
    let a2i = local.a2i_client();
    for (name, input, _) in TEMPLATES {
        let input: Value = serde_json::from_str(&read(&format!("sample-data/task-input/{input}"))?)
            .map_err(|e| format!("{input}: {e}"))?;
        a2i.start_human_loop()
            .human_loop_name(format!("{name}-sample"))
            .flow_definition_arn(local.flow_definition_arn(&format!("{name}-review")))
            .human_loop_input(
                HumanLoopInput::builder()
                    .input_content(input.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| format!("start {name}: {e:?}"))?;
    }

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("a free port: {e}"))?;
    let mut driver = Command::new(&chromedriver)
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
    let result = shoot(&local, port, &chromium, &out).await;
    let _ = driver.kill();
    let _ = driver.wait();
    local.shutdown().await;
    result
}

async fn shoot(
    local: &a2i_local::LocalA2iHandle,
    port: u16,
    chromium: &str,
    out: &std::path::Path,
) -> Result<(), String> {
    let Value::Object(capabilities) = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--hide-scrollbars", "--window-size=1280,900"]
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
    save(
        &client.screenshot().await.map_err(e("screenshot"))?,
        out,
        "portal-queue.png",
    )?;
    for (name, _, _) in TEMPLATES {
        client.goto(&local.portal_url()).await.map_err(e("open"))?;
        client
            .find(Locator::Css(&format!(
                ".flow[data-flow=\"{name}-review\"] button.start"
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
        tokio::time::sleep(Duration::from_millis(300)).await;
        save(
            &client.screenshot().await.map_err(e("screenshot"))?,
            out,
            &format!("portal-task-{name}.png"),
        )?;
    }
    let _ = client.close().await;
    Ok(())
}

fn save(png: &[u8], dir: &std::path::Path, name: &str) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("{} ({} bytes)", path.display(), png.len());
    Ok(())
}
