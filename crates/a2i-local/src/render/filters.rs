//! A2I's filters (`escape`, `escape_once`, `skip_autoescape`, `to_json`,
//! `grant_read_access`, and the internal auto-escape), and the wrapper that bounds the
//! standard Liquid filters' results.

use std::fmt;

use liquid_core::model::{ObjectView, ScalarCow, Value, ValueView};
use liquid_core::parser::{FilterArguments, ParameterReflection};
use liquid_core::{Error, Filter, FilterReflection, ParseFilter, Result, Runtime};

use super::context::{charge, check_value_size, fail, PRESIGN_ROOT};
use super::escape::{display, html_escape, html_escape_once, write_json, TooDeep};
use super::presign::parse_s3_reference;
use super::{codes, RenderingError};

/// What one of A2I's filters does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Escape,
    EscapeOnce,
    SkipAutoescape,
    ToJson,
    GrantReadAccess,
    Autoescape,
}

/// One of A2I's filters, by name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct A2iFilter {
    name: &'static str,
    description: &'static str,
    kind: Kind,
}

/// Every A2I filter, the internal auto-escape included.
pub(crate) const A2I_FILTERS: [A2iFilter; 6] = [
    A2iFilter {
        name: "escape",
        description: "HTML-escapes the value (& < > \" ' become entities); the output is not escaped again.",
        kind: Kind::Escape,
    },
    A2iFilter {
        name: "escape_once",
        description: "HTML-escapes the value but keeps character references that are already there.",
        kind: Kind::EscapeOnce,
    },
    A2iFilter {
        name: "skip_autoescape",
        description: "Emits the value as it is, without auto-escaping (only for markup you control).",
        kind: Kind::SkipAutoescape,
    },
    A2iFilter {
        name: "to_json",
        description: "Serialises the value as JSON (< > & ' as \\u escapes); auto-escaped afterwards like any output.",
        kind: Kind::ToJson,
    },
    A2iFilter {
        name: "grant_read_access",
        description: "Turns an s3:// URI, an https://s3.amazonaws.com/BUCKET/KEY URL or an S3 object {bucket, name[, version]} into a presigned, expiring GET URL.",
        kind: Kind::GrantReadAccess,
    },
    A2iFilter {
        name: super::scan::AUTOESCAPE,
        description: "Internal: the auto-escape added to every output.",
        kind: Kind::Autoescape,
    },
];

impl A2iFilter {
    /// The filter's name in templates.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }
}

impl FilterReflection for A2iFilter {
    fn name(&self) -> &str {
        self.name
    }

    fn description(&self) -> &str {
        self.description
    }

    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }

    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for A2iFilter {
    fn parse(&self, mut arguments: FilterArguments<'_>) -> Result<Box<dyn Filter>> {
        if arguments.positional.next().is_some() || arguments.keyword.next().is_some() {
            return Err(Error::with_msg(format!(
                "the filter {} takes no arguments",
                self.name
            )));
        }
        Ok(Box::new(Applied {
            name: self.name,
            kind: self.kind,
        }))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

#[derive(Debug)]
struct Applied {
    name: &'static str,
    kind: Kind,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

fn too_deep(runtime: &dyn Runtime, name: &str, _: TooDeep) -> Error {
    fail(
        runtime,
        RenderingError::new(
            codes::RENDER_ERROR,
            format!("Liquid error: {name} was given a value nested too deeply to write"),
        ),
    )
}

impl Filter for Applied {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        let text = match self.kind {
            Kind::Escape | Kind::Autoescape => {
                html_escape(&display(input).map_err(|e| too_deep(runtime, self.name, e))?)
            }
            Kind::EscapeOnce => {
                html_escape_once(&display(input).map_err(|e| too_deep(runtime, self.name, e))?)
            }
            Kind::SkipAutoescape => display(input).map_err(|e| too_deep(runtime, self.name, e))?,
            Kind::ToJson => {
                let mut out = String::new();
                write_json(input, true, &mut out).map_err(|e| too_deep(runtime, self.name, e))?;
                out
            }
            Kind::GrantReadAccess => return grant_read_access(input, runtime),
        };
        let value = Value::scalar(text);
        let size = check_value_size(runtime, &value, &format!("the filter {}", self.name))?;
        charge(runtime, size)?;
        Ok(value)
    }
}

fn grant_read_access(input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
    let reference = if let Some(object) = input.as_object() {
        // A2I's built-in inputs carry the object as `s3Object` {bucket, name[, version]}.
        s3_object_reference(object).map_err(|what| {
            fail(
                runtime,
                RenderingError::new(
                    codes::GRANT_READ_ACCESS,
                    format!(
                        "Liquid error: grant_read_access was given an object {what}; an S3 object needs string members bucket and name (version optional)"
                    ),
                ),
            )
        })?
    } else {
        let text = input.to_kstr();
        let Ok((bucket, key)) = parse_s3_reference(text.as_str()) else {
            return Err(fail(
                runtime,
                RenderingError::new(
                    codes::GRANT_READ_ACCESS,
                    format!(
                        "Liquid error: grant_read_access needs an s3://BUCKET/KEY URI, an https://s3.amazonaws.com/BUCKET/KEY URL or an S3 object {{bucket, name[, version]}} (it was given a {} of {} characters)",
                        input.type_name(),
                        text.chars().count()
                    ),
                ),
            ));
        };
        S3Reference {
            bucket,
            key,
            version: None,
        }
    };
    // The presigner lives in the root runtime; filters only see the current frame.
    let mut path = vec![
        ScalarCow::new(PRESIGN_ROOT),
        ScalarCow::new(reference.bucket),
        ScalarCow::new(reference.key),
    ];
    if let Some(version) = reference.version {
        path.push(ScalarCow::new(version));
    }
    let url = runtime.get(&path)?;
    let url = url.into_owned();
    charge(runtime, url.to_kstr().len())?;
    Ok(url)
}

/// The object an S3 reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct S3Reference {
    bucket: String,
    key: String,
    version: Option<String>,
}

/// `{bucket, name[, version]}` (A2I's camelCase `s3Object`; the API's PascalCase `Bucket`,
/// `Name`, `Version` too). The error says what is wrong, never a value.
fn s3_object_reference(object: &dyn ObjectView) -> std::result::Result<S3Reference, String> {
    fn member(
        object: &dyn ObjectView,
        names: [&str; 2],
        required: bool,
    ) -> std::result::Result<Option<String>, String> {
        let found = names
            .iter()
            .find_map(|name| object.get(name).map(|v| (name, v)));
        match found {
            None if required => Err(format!("without a {} member", names[0])),
            None => Ok(None),
            Some((_, value)) if value.is_nil() && !required => Ok(None),
            Some((name, value)) => {
                match value.as_scalar().filter(|_| value.type_name() == "string") {
                    Some(text) if !text.to_kstr().is_empty() => {
                        Ok(Some(text.to_kstr().as_str().to_owned()))
                    }
                    Some(_) => Err(format!("whose {name} is empty")),
                    None => Err(format!(
                        "whose {name} is not a string (its type is {})",
                        value.type_name()
                    )),
                }
            }
        }
    }
    let bucket = member(object, ["bucket", "Bucket"], true)?.unwrap_or_default();
    let key = member(object, ["name", "Name"], true)?.unwrap_or_default();
    let version = member(object, ["version", "Version"], false)?;
    Ok(S3Reference {
        bucket,
        key,
        version,
    })
}

/// A standard filter whose results count against the render's budget: each result must
/// fit in one value's size limit, and its size is charged as work.
#[derive(Clone)]
pub(crate) struct Bounded(pub(crate) Box<dyn ParseFilter>);

impl ParseFilter for Bounded {
    fn parse(&self, arguments: FilterArguments<'_>) -> Result<Box<dyn Filter>> {
        let inner = self.0.parse(arguments)?;
        Ok(Box::new(BoundedFilter {
            name: self.0.reflection().name().to_owned(),
            inner,
        }))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self.0.reflection()
    }
}

#[derive(Debug)]
struct BoundedFilter {
    name: String,
    inner: Box<dyn Filter>,
}

impl fmt::Display for BoundedFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl Filter for BoundedFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        charge(runtime, 0)?;
        let value = self.inner.evaluate(input, runtime)?;
        let size = check_value_size(runtime, &value, &format!("the filter {}", self.name))?;
        charge(runtime, size)?;
        Ok(value)
    }
}
