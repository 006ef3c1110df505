//! The control plane's use of the template renderer ([`crate::render`]): CreateHumanTaskUi
//! (and resources) refuse a template that does not parse, RenderUiTemplate renders with
//! `task.input` = `Task.Input` and reports render errors in `Errors[]` with HTTP 200.

use std::sync::Arc;

use super::error::SageMakerError;
use crate::render::{Presign, RenderingError};

/// A RenderUiTemplate answer: the HTML (empty when rendering failed) and the errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `RenderedContent`.
    pub content: String,
    /// `Errors`.
    pub errors: Vec<RenderingError>,
}

/// Renders task templates for the control plane; `grant_read_access` asks `presign`.
#[derive(Clone)]
pub struct Renderer {
    presign: Arc<dyn Presign>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

impl Renderer {
    /// A renderer whose `grant_read_access` uses `presign`.
    pub fn new(presign: Arc<dyn Presign>) -> Self {
        Self { presign }
    }

    /// Refuses a template that does not parse, as a ValidationException naming the first
    /// error (its position in the template; no input is involved).
    pub fn check_template(&self, content: &str) -> Result<(), SageMakerError> {
        crate::render::parse_template(content)
            .map(|_| ())
            .map_err(|errors| {
                let reasons = errors
                    .iter()
                    .map(|e| format!("{} ({})", e.message, e.code))
                    .collect::<Vec<_>>()
                    .join("; ");
                SageMakerError::Validation(format!(
                    "1 validation error detected: Value at 'uiTemplate.content' failed to \
                     satisfy constraint: Member must be a valid worker task template: {reasons}"
                ))
            })
    }

    /// Renders `content` with `task.input` = the parsed `input`, on a blocking thread (a
    /// render may take up to the renderer's time bound).
    pub async fn render(&self, content: String, input: String) -> Rendered {
        let presign = Arc::clone(&self.presign);
        let result = tokio::task::spawn_blocking(move || {
            crate::render::render_str(&content, &input, presign.as_ref())
        })
        .await;
        match result {
            Ok(Ok(html)) => Rendered {
                content: html,
                errors: Vec::new(),
            },
            Ok(Err(errors)) => Rendered {
                content: String::new(),
                errors,
            },
            Err(join) => Rendered {
                content: String::new(),
                errors: vec![RenderingError::new(
                    crate::render::codes::RENDER_ERROR,
                    format!("the render did not finish: {join}"),
                )],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::NoPresign;

    #[test]
    fn a_template_that_does_not_parse_is_a_validation_exception() {
        let renderer = Renderer::new(Arc::new(NoPresign));
        renderer
            .check_template("<p>{{ task.input.a }}</p>")
            .unwrap();
        let err = renderer
            .check_template("{% if x %}never closed")
            .unwrap_err();
        assert_eq!(err.shape(), "ValidationException");
        assert!(
            err.message().contains("'uiTemplate.content'"),
            "{}",
            err.message()
        );
        assert!(
            err.message().contains("TemplateSyntaxError"),
            "{}",
            err.message()
        );
    }

    #[tokio::test]
    async fn render_errors_come_back_as_errors_with_empty_content() {
        let renderer = Renderer::new(Arc::new(NoPresign));
        let ok = renderer
            .render("<p>{{ task.input.a }}</p>".into(), r#"{"a": "<b>"}"#.into())
            .await;
        assert_eq!(ok.content, "<p>&lt;b&gt;</p>");
        assert!(ok.errors.is_empty());
        let failed = renderer
            .render("<p>{{ task.input.missing }}</p>".into(), "{}".into())
            .await;
        assert_eq!(failed.content, "");
        assert_eq!(failed.errors[0].code, "UndefinedVariable");
    }
}
