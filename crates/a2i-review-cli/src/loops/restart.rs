//! `loops restart NAME`: a new loop for the item of a Failed or Stopped loop.
//!
//! The item comes from the registry and the source object: the input is rebuilt as the start
//! handler built it ([`a2i_review::restart::rebuild_input`], checked against the registered
//! digest). The new loop's name is a function of the old name and the new generation
//! ([`restart_name`]), its registration is written first (`restartOf`, `generation + 1`), then
//! it is started. So a restart is idempotent: asked again, it finds its loop and reports it
//! `already-restarted` (with its status) instead of starting another one.

use std::io::Write;

use a2i_review::conditions::ActivationConditions;
use a2i_review::config::DocumentFormat;
use a2i_review::error::CallError;
use a2i_review::loop_name::{is_valid, MAX_NAME_LEN};
use aws_sdk_sagemakera2iruntime::types::{
    ContentClassifier, HumanLoopDataAttributes, HumanLoopInput, HumanLoopStatus,
};

use super::{
    describe_loop, write_result, ActionResult, Clients, LoopsError, Outcome, OutputMode,
    RegistryLocation,
};

/// What `restart` needs besides the loop: the registry and the start handler's settings.
#[derive(Debug, Clone)]
pub struct RestartOptions {
    /// The loop to restart.
    pub name: String,
    /// Where the registrations are.
    pub registry: RegistryLocation,
    /// The start handler's activation conditions (`ACTIVATION_CONDITIONS`).
    pub conditions: ActivationConditions,
    /// The start handler's `DOCUMENT_FORMAT`.
    pub format: DocumentFormat,
    /// The start handler's `ITEMS_PATH`.
    pub items_path: Option<serde_json_path::JsonPath>,
    /// The start handler's `MEDIA_PATH`.
    pub media_path: Option<serde_json_path::JsonPath>,
    /// The start handler's `CONTENT_CLASSIFIERS`, sent with the new loop.
    pub content_classifiers: Vec<ContentClassifier>,
    /// Say what would be done, do nothing.
    pub dry_run: bool,
    /// Text or JSON Lines.
    pub output: OutputMode,
}

/// The name of generation `generation` (≥ 1) of a loop: its stem (the name without a
/// previous `-r<n>`), shortened to fit, then `-r<generation>`. Always a valid A2I name of at
/// most 63 characters; the same inputs give the same name.
pub fn restart_name(name: &str, generation: u64) -> String {
    let suffix = format!("-r{generation}");
    let stem = match name.rsplit_once("-r") {
        Some((stem, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => stem,
        _ => name,
    };
    let room = MAX_NAME_LEN - suffix.len();
    let stem: String = stem.chars().take(room).collect();
    format!("{}{suffix}", stem.trim_end_matches('-'))
}

/// Restarts one loop and reports it on `out`.
pub async fn restart(
    clients: &Clients,
    options: &RestartOptions,
    out: &mut dyn Write,
) -> Result<ActionResult, LoopsError> {
    let name = options.name.as_str();
    let refuse = |reason: String| LoopsError::NotRestartable {
        name: name.to_owned(),
        reason,
    };
    let summary = describe_loop(clients, name)
        .await?
        .ok_or_else(|| LoopsError::NotFound {
            name: name.to_owned(),
        })?;
    if !matches!(
        summary.status,
        HumanLoopStatus::Failed | HumanLoopStatus::Stopped
    ) {
        return Err(refuse(format!(
            "the loop is {}; only Failed and Stopped loops are restarted",
            summary.status.as_str()
        )));
    }
    let registry = options.registry.open(&clients.s3);
    let registration = registry
        .read(name)
        .await
        .map_err(|e| refuse(e.to_string()))?
        .ok_or_else(|| {
            refuse(format!(
                "no registration at s3://{}/{}: the loop was not started by this app's start function (or before its registry)",
                options.registry.bucket,
                registry.key(name)
            ))
        })?;
    let new_name = restart_name(name, u64::from(registration.generation) + 1);
    if !is_valid(&new_name) || new_name == name {
        return Err(refuse(format!("no valid restart name: {new_name}")));
    }
    let status_before = Some(summary.status.as_str().to_owned());
    let report = |outcome: Outcome, out: &mut dyn Write| -> Result<ActionResult, LoopsError> {
        let result = ActionResult {
            name: name.to_owned(),
            status_before: status_before.clone(),
            outcome,
        };
        write_result(out, "restart", &result, options.dry_run, options.output)?;
        out.flush()?;
        Ok(result)
    };
    if let Some(existing) = describe_loop(clients, &new_name).await? {
        return report(
            Outcome::AlreadyRestarted {
                new_name,
                status: existing.status.as_str().to_owned(),
            },
            out,
        );
    }
    let rendered = a2i_review::restart::rebuild_input(
        &clients.s3,
        &registration,
        &options.conditions,
        options.format,
        options.items_path.as_ref(),
        options.media_path.as_ref(),
    )
    .await
    .map_err(|e| refuse(e.to_string()))?;
    if options.dry_run {
        return report(
            Outcome::Would {
                action: "restart",
                new_name: Some(new_name),
            },
            out,
        );
    }
    let restarted = registration.restarted_as(&new_name, &rendered.content, chrono_now());
    registry
        .write(&restarted)
        .await
        .map_err(|e| refuse(e.to_string()))?;
    let input = HumanLoopInput::builder()
        .input_content(rendered.content)
        .build();
    let mut start = clients
        .a2i
        .start_human_loop()
        .human_loop_name(&new_name)
        .flow_definition_arn(&registration.flow_definition_arn)
        .human_loop_input(input);
    if !options.content_classifiers.is_empty() {
        let attributes = HumanLoopDataAttributes::builder()
            .set_content_classifiers(Some(options.content_classifiers.clone()))
            .build();
        start = start.data_attributes(attributes);
    }
    let outcome = match start.send().await {
        Ok(_) => Outcome::Restarted { new_name },
        Err(e) => {
            let call = CallError::classify("StartHumanLoop", &e);
            // Another restart got there first: the loop is what was asked for.
            match describe_loop(clients, &new_name).await {
                Ok(Some(existing)) => Outcome::AlreadyRestarted {
                    new_name,
                    status: existing.status.as_str().to_owned(),
                },
                _ => Outcome::Failed {
                    error: call.to_string(),
                },
            }
        }
    };
    report(outcome, out)
}

/// The time a restart was asked for, as the registration records it.
fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_names_are_deterministic_valid_and_keep_one_stem() {
        let hash = "9d50afcb2742bb9b798256a0dca9f67fc886c408";
        let name = format!("predictions-{hash}");
        assert_eq!(restart_name(&name, 1), format!("{name}-r1"));
        assert_eq!(restart_name(&name, 1), restart_name(&name, 1));
        // A restart of a restart keeps the stem and counts on.
        assert_eq!(
            restart_name(&restart_name(&name, 1), 2),
            format!("{name}-r2")
        );
        // The longest names the start handler makes (22 + 1 + 40) are shortened to fit.
        let longest = format!("{}-{hash}", "a".repeat(22));
        for generation in [1, 9, 10, 1234] {
            let r = restart_name(&longest, generation);
            assert!(r.len() <= MAX_NAME_LEN && is_valid(&r), "{r}");
            assert!(r.ends_with(&format!("-r{generation}")), "{r}");
            assert_ne!(r, longest);
        }
        // No stem ends in '-' once shortened.
        let dashed = format!("{}-{}", "b".repeat(59), "c".repeat(3));
        assert!(is_valid(&restart_name(&dashed, 1)));
        // Only a trailing -r<digits> is a previous restart's suffix.
        assert_eq!(restart_name("abc-r", 1), "abc-r-r1");
    }
}
