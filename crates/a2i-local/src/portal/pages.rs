//! The portal's HTML pages. Every dynamic text goes through [`escape`]; the only unescaped
//! markup is the rendered task UI (whose own escaping is the renderer's).

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#16191f;background:#f2f3f3}\
header{background:#232f3e;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:center}\
header a{color:#fff}header .grow{flex:1}main{padding:20px;max-width:1100px;margin:auto}\
.card{background:#fff;border:1px solid #d5dbdb;border-radius:4px;padding:16px;margin-bottom:16px}\
.kw{display:inline-block;background:#eaeded;border-radius:10px;padding:1px 8px;margin-right:4px;font-size:12px}\
button{background:#ec7211;color:#fff;border:0;border-radius:2px;padding:8px 16px;font-weight:bold;cursor:pointer}\
#countdown{font-variant-numeric:tabular-nums;font-weight:bold}.error{color:#d13212}";

fn layout(title: &str, worker: Option<&str>, extra_header: &str, body: &str) -> String {
    let who = worker.map_or(String::new(), |w| {
        format!(r#"<span>Worker: <b id="worker">{}</b></span>"#, escape(w))
    });
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>{STYLE}</style></head><body><header><a href=\"/_local/portal/\">a2i-local worker portal</a>\
         <span class=\"grow\">{extra_header}</span>{who}</header><main>{body}</main></body></html>",
        t = escape(title)
    )
}

/// The page that asks for a worker name.
pub fn choose_worker(error: Option<&str>) -> String {
    let error = error.map_or(String::new(), |e| {
        format!(r#"<p class="error" role="alert">{}</p>"#, escape(e))
    });
    layout(
        "Choose a worker name",
        None,
        "",
        &format!(
            r#"<div class="card"><h1>Who is working?</h1><p>a2i-local runs on loopback, so there is no login: the name you type is the worker id in output.json.</p>{error}
<form method="post" action="/_local/portal/worker"><label>Worker name <input name="worker" id="worker-name" required maxlength="64" pattern="[A-Za-z0-9._@\-]+"></label> <button type="submit" id="choose-worker">Start</button></form></div>"#
        ),
    )
}

/// One flow definition in the queue.
#[derive(Debug, Clone)]
pub struct QueueRow {
    /// The flow definition's name.
    pub flow: String,
    /// `TaskTitle`.
    pub title: Option<String>,
    /// `TaskDescription`.
    pub description: Option<String>,
    /// `TaskKeywords`.
    pub keywords: Vec<String>,
    /// Tasks this worker may take now.
    pub waiting: usize,
    /// Loops this worker holds.
    pub held: Vec<String>,
    /// Whether the flow definition has a task UI here.
    pub has_ui: bool,
}

/// The queue page.
pub fn queue(worker: &str, rows: &[QueueRow]) -> String {
    let mut body = String::from("<h1>Tasks waiting for you</h1>");
    if rows.is_empty() {
        body.push_str(r#"<div class="card" id="empty-queue">No task waits for review.</div>"#);
    }
    for row in rows {
        let keywords: String = row
            .keywords
            .iter()
            .map(|k| format!(r#"<span class="kw">{}</span>"#, escape(k)))
            .collect();
        let held: String = row
            .held
            .iter()
            .map(|name| {
                format!(
                    r#"<li><a href="/_local/portal/tasks/{}">Continue {}</a></li>"#,
                    escape(&super::encode_segment(name)),
                    escape(name)
                )
            })
            .collect();
        let held = if held.is_empty() {
            String::new()
        } else {
            format!("<ul>{held}</ul>")
        };
        let no_ui = if row.has_ui {
            ""
        } else {
            r#"<p class="error">This flow definition has no task UI on this server.</p>"#
        };
        let start = if row.waiting > 0 {
            format!(
                r#"<form method="post" action="/_local/portal/flows/{}/start"><button type="submit" class="start">Start working</button></form>"#,
                escape(&super::encode_segment(&row.flow))
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            r#"<div class="card flow" data-flow="{f}"><h2>{title}</h2><p class="flow-name">Flow definition <code>{f}</code></p><p class="description">{d}</p><p>{keywords}</p>{no_ui}<p><b class="waiting">{w}</b> task{s} waiting for you</p>{start}{held}</div>"#,
            f = escape(&row.flow),
            title = escape(row.title.as_deref().unwrap_or(&row.flow)),
            d = escape(row.description.as_deref().unwrap_or("")),
            w = row.waiting,
            s = if row.waiting == 1 { "" } else { "s" },
        ));
    }
    layout("Worker portal", Some(worker), "", &body)
}

/// What the task page shows.
pub struct TaskPage<'a> {
    /// The worker.
    pub worker: &'a str,
    /// The loop.
    pub loop_name: &'a str,
    /// `TaskTitle`.
    pub title: Option<&'a str>,
    /// Seconds left before the hold expires.
    pub remaining_secs: u64,
    /// Where "release" posts.
    pub release_url: &'a str,
    /// The rendered task UI, or why there is none.
    pub body: Result<String, String>,
}

/// The task page: a header with the title and the countdown, then the task UI.
pub fn task(page: &TaskPage<'_>) -> String {
    let title = page.title.unwrap_or("Task");
    let header = format!(
        r#"<b id="task-title">{}</b> · time left <span id="countdown" data-seconds="{s}">{m}:{r:02}</span>"#,
        escape(title),
        s = page.remaining_secs,
        m = page.remaining_secs / 60,
        r = page.remaining_secs % 60,
    );
    let content = match &page.body {
        Ok(html) => format!(r#"<div class="card" id="task">{html}</div>"#),
        Err(problem) => format!(
            r#"<div class="card"><p class="error" role="alert">{}</p></div>"#,
            escape(problem)
        ),
    };
    let script = r#"<script>(function(){var el=document.getElementById('countdown');var left=+el.getAttribute('data-seconds');var end=Date.now()+left*1000;function tick(){var s=Math.max(0,Math.round((end-Date.now())/1000));el.textContent=Math.floor(s/60)+':'+String(s%60).padStart(2,'0');if(s===0){el.textContent='time is up';el.className='error';return;}setTimeout(tick,500);}tick();})();</script>"#;
    layout(
        &format!("{title} — {}", page.loop_name),
        Some(page.worker),
        &header,
        &format!(
            r#"{content}<p><small>Loop <code id="loop-name">{}</code> · release URL <code>{}</code></small></p>{script}"#,
            escape(page.loop_name),
            escape(page.release_url)
        ),
    )
}

/// What the page after a submit shows.
pub struct DonePage<'a> {
    /// The worker.
    pub worker: &'a str,
    /// The loop.
    pub loop_name: &'a str,
    /// Its status.
    pub status: &'a str,
    /// Answers collected so far (while in progress).
    pub answered: usize,
    /// `TaskCount`.
    pub task_count: usize,
    /// A link to output.json, once there is one.
    pub output_url: Option<&'a str>,
    /// A link to the reviewed result, when configured.
    pub reviewed_url: Option<&'a str>,
}

/// The page after a submit.
pub fn done(page: &DonePage<'_>) -> String {
    let mut body = format!(
        r#"<div class="card"><h1>Thank you</h1><p>Your answer for loop <code>{}</code> was recorded.</p>"#,
        escape(page.loop_name)
    );
    if page.status == "InProgress" {
        body.push_str(&format!(
            r#"<p id="loop-status">The loop waits for more workers: {} of {} answers.</p>"#,
            page.answered, page.task_count
        ));
    } else {
        body.push_str(&format!(
            r#"<p id="loop-status">The loop is <b>{}</b>.</p>"#,
            escape(page.status)
        ));
    }
    if let Some(url) = page.output_url {
        body.push_str(&format!(
            r#"<p><a id="output-link" href="{}">output.json</a></p>"#,
            escape(url)
        ));
    }
    if let Some(url) = page.reviewed_url {
        body.push_str(&format!(
            r#"<p><a id="reviewed-link" href="{}">The reviewed result</a> (written by the status handler when it has run)</p>"#,
            escape(url)
        ));
    }
    body.push_str(r#"<p><a href="/_local/portal/">Back to the queue</a></p></div>"#);
    layout("Answer recorded", Some(page.worker), "", &body)
}

/// A page with one message.
pub fn message(title: &str, text: &str) -> String {
    layout(
        title,
        None,
        "",
        &format!(
            r#"<div class="card"><h1>{}</h1><p id="message" role="alert">{}</p><p><a href="/_local/portal/">Back to the queue</a></p></div>"#,
            escape(title),
            escape(text)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_text_is_escaped() {
        let page = queue(
            "w",
            &[QueueRow {
                flow: "f".into(),
                title: Some("<img src=x onerror=alert(1)>".into()),
                description: Some("a & b".into()),
                keywords: vec!["<b>".into()],
                waiting: 1,
                held: vec![],
                has_ui: true,
            }],
        );
        assert!(!page.contains("<img"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("a &amp; b"));
        assert!(page.contains("&lt;b&gt;"));
    }
}
