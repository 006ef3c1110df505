//! The bounded `for` and `capture` blocks, which replace the `liquid` crate's: its `for`
//! turns a range `(1..N)` into a list of N values before the first iteration (a template
//! asking for `(1..1000000000000)` would exhaust memory) and counts nothing, and its
//! `capture` buffers without limit. These iterate ranges lazily, count every iteration
//! against the render's budget, and cap what a capture holds. Semantics follow Liquid's:
//! `limit:`, `offset:`, `reversed`, `{% else %}` for an empty loop, `forloop.*`
//! (`index`, `index0`, `rindex`, `rindex0`, `first`, `last`, `length`, `parentloop`),
//! `{% break %}` / `{% continue %}`; objects iterate as `[key, value]` pairs, in key order.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;

use liquid_core::model::{
    KString, KStringCow, KStringRef, Object, ScalarCow, Value, ValueCow, ValueView,
};
use liquid_core::parser::{BlockElement, TryMatchToken};
use liquid_core::runtime::{Interrupt, InterruptRegister, PartialStore, Registers};
use liquid_core::{BlockReflection, Error, Expression, Language, ParseBlock, Renderable};
use liquid_core::{Result, Runtime, TagBlock, TagTokenIter, Template};

use super::context::{
    charge, check_value_size, fail, iteration, limit, undefined, value_size, BoundedWriter,
};
use super::{codes, RenderingError};

/// `{% for item in array_or_range [limit: n] [offset: n] [reversed] %}…{% else %}…{% endfor %}`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForBlock;

impl BlockReflection for ForBlock {
    fn start_tag(&self) -> &str {
        "for"
    }

    fn end_tag(&self) -> &str {
        "endfor"
    }

    fn description(&self) -> &str {
        "Repeats its body for each element of an array, each pair of an object or each number of a range, within the render's iteration budget."
    }
}

#[derive(Debug)]
enum Source {
    Value(Expression),
    Range(Expression, Expression),
}

fn attribute(arguments: &mut TagTokenIter<'_>) -> Result<Expression> {
    arguments
        .expect_next("\":\" expected.")?
        .expect_str(":")
        .into_result_custom_msg("\":\" expected.")?;
    arguments
        .expect_next("Value expected.")?
        .expect_value()
        .into_result()
}

impl ParseBlock for ForBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut block: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let variable = arguments
            .expect_next("Identifier expected.")?
            .expect_identifier()
            .into_result()?;
        arguments
            .expect_next("\"in\" expected.")?
            .expect_str("in")
            .into_result_custom_msg("\"in\" expected.")?;
        let source = match arguments
            .expect_next("Array or range expected.")?
            .expect_value()
        {
            TryMatchToken::Matches(value) => Source::Value(value),
            TryMatchToken::Fails(token) => match token.expect_range() {
                TryMatchToken::Matches((start, end)) => Source::Range(start, end),
                TryMatchToken::Fails(token) => return Err(token.raise_error()),
            },
        };
        let (mut limit, mut offset, mut reversed) = (None, None, false);
        while let Some(token) = arguments.next() {
            match token.as_str() {
                "limit" => limit = Some(attribute(&mut arguments)?),
                "offset" => offset = Some(attribute(&mut arguments)?),
                "reversed" => reversed = true,
                _ => {
                    return Err(
                        token.raise_custom_error("\"limit\", \"offset\" or \"reversed\" expected.")
                    )
                }
            }
        }
        arguments.expect_nothing()?;

        let mut body = Vec::new();
        let mut otherwise = None;
        while let Some(element) = block.next()? {
            match element {
                BlockElement::Tag(mut tag) if tag.name() == "else" => {
                    tag.tokens().expect_nothing()?;
                    otherwise = Some(Template::new(block.parse_all(options)?));
                    break;
                }
                element => body.push(element.parse(&mut block, options)?),
            }
        }
        block.assert_empty();
        Ok(Box::new(For {
            variable: KString::from_ref(variable),
            source,
            limit,
            offset,
            reversed,
            body: Template::new(body),
            otherwise,
        }))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

#[derive(Debug)]
struct For {
    variable: KString,
    source: Source,
    limit: Option<Expression>,
    offset: Option<Expression>,
    reversed: bool,
    body: Template,
    otherwise: Option<Template>,
}

fn render_error(runtime: &dyn Runtime, message: &str) -> Error {
    fail(
        runtime,
        RenderingError::new(codes::RENDER_ERROR, format!("Liquid error: {message}")),
    )
}

fn whole_number(runtime: &dyn Runtime, expression: &Expression, what: &str) -> Result<i64> {
    let value = expression.evaluate(runtime)?;
    value
        .as_scalar()
        .and_then(|s| s.to_integer())
        .ok_or_else(|| {
            render_error(
                runtime,
                &format!(
                    "{what} must be a whole number (got a {})",
                    value.type_name()
                ),
            )
        })
}

impl For {
    /// The loop's elements: a lazily counted range, or the values of an array or object.
    fn items<'r>(&'r self, runtime: &'r dyn Runtime) -> Result<Items<'r>> {
        match &self.source {
            Source::Range(start, end) => {
                let start = whole_number(runtime, start, "a for loop's range start")?;
                let end = whole_number(runtime, end, "a for loop's range end")?;
                Ok(Items::Range { start, end })
            }
            Source::Value(expression) => {
                let value = expression.evaluate(runtime)?;
                if value.is_array() {
                    Ok(Items::Array(value))
                } else if let Some(object) = value.as_object() {
                    let mut pairs: Vec<(String, Value)> = object
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_value()))
                        .collect();
                    pairs.sort_by(|a, b| a.0.cmp(&b.0));
                    let pairs: Vec<Value> = pairs
                        .into_iter()
                        .map(|(k, v)| Value::Array(vec![Value::scalar(k), v]))
                        .collect();
                    // The pairs are copies: charge them.
                    let size = pairs
                        .iter()
                        .map(|p| value_size(p, usize::MAX).unwrap_or(usize::MAX))
                        .fold(0usize, usize::saturating_add);
                    charge(runtime, size)?;
                    Ok(Items::Pairs(pairs))
                } else if value.is_nil() || value.is_state() {
                    Ok(Items::Pairs(Vec::new()))
                } else {
                    Err(render_error(
                        runtime,
                        &format!(
                            "a for loop needs an array, an object or a range (got a {})",
                            value.type_name()
                        ),
                    ))
                }
            }
        }
    }
}

enum Items<'r> {
    Range { start: i64, end: i64 },
    Array(ValueCow<'r>),
    Pairs(Vec<Value>),
}

impl Items<'_> {
    fn len(&self) -> u64 {
        match self {
            Items::Range { start, end } => {
                if end < start {
                    0
                } else {
                    (i128::from(*end) - i128::from(*start) + 1).min(i128::from(u64::MAX)) as u64
                }
            }
            Items::Array(array) => array.as_array().map_or(0, |a| a.size().max(0) as u64),
            Items::Pairs(pairs) => pairs.len() as u64,
        }
    }
}

impl Renderable for For {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let items = self.items(runtime)?;
        let total = items.len();
        let offset = match &self.offset {
            Some(e) => whole_number(runtime, e, "a for loop's offset")?.max(0) as u64,
            None => 0,
        };
        let first = offset.min(total);
        let count = match &self.limit {
            Some(e) => {
                (whole_number(runtime, e, "a for loop's limit")?.max(0) as u64).min(total - first)
            }
            None => total - first,
        };
        if count == 0 {
            if let Some(otherwise) = &self.otherwise {
                otherwise.render_to(writer, runtime)?;
            }
            return Ok(());
        }
        let parentloop = runtime
            .try_get(&[ScalarCow::new("forloop")])
            .map(|v| v.into_owned());
        for n in 0..count {
            iteration(runtime)?;
            let position = if self.reversed {
                first + count - 1 - n
            } else {
                first + n
            };
            let owned;
            let item: &dyn ValueView = match &items {
                Items::Range { start, .. } => {
                    owned = Value::scalar(start.saturating_add(position as i64));
                    &owned
                }
                Items::Array(array) => {
                    match array.as_array().and_then(|a| a.get(position as i64)) {
                        Some(item) => item,
                        None => break,
                    }
                }
                Items::Pairs(pairs) => match pairs.get(position as usize) {
                    Some(pair) => pair,
                    None => break,
                },
            };
            let forloop = forloop_object(n, count, parentloop.clone());
            let frame = LoopFrame {
                parent: runtime,
                variable: self.variable.as_str(),
                item,
                forloop: &forloop,
            };
            self.body.render_to(writer, &frame)?;
            let interrupt = runtime.registers().get_mut::<InterruptRegister>().reset();
            if interrupt == Some(Interrupt::Break) {
                break;
            }
        }
        Ok(())
    }
}

fn forloop_object(n: u64, count: u64, parentloop: Option<Value>) -> Value {
    let (n, count) = (n as i64, count as i64);
    let mut object = Object::new();
    object.insert("length".into(), Value::scalar(count));
    object.insert("index".into(), Value::scalar(n + 1));
    object.insert("index0".into(), Value::scalar(n));
    object.insert("rindex".into(), Value::scalar(count - n));
    object.insert("rindex0".into(), Value::scalar(count - n - 1));
    object.insert("first".into(), Value::scalar(n == 0));
    object.insert("last".into(), Value::scalar(n == count - 1));
    object.insert("parentloop".into(), parentloop.unwrap_or(Value::Nil));
    Value::Object(object)
}

/// The variables of one loop iteration (the loop variable and `forloop`) over the
/// enclosing runtime. Lookups borrow the element instead of copying it.
struct LoopFrame<'p> {
    parent: &'p dyn Runtime,
    variable: &'p str,
    item: &'p dyn ValueView,
    forloop: &'p Value,
}

impl LoopFrame<'_> {
    fn own(&self, root: &str) -> Option<&dyn ValueView> {
        if root == self.variable {
            Some(self.item)
        } else if root == "forloop" {
            Some(self.forloop)
        } else {
            None
        }
    }
}

impl Runtime for LoopFrame<'_> {
    fn partials(&self) -> &dyn PartialStore {
        self.parent.partials()
    }

    fn name(&self) -> Option<KStringRef<'_>> {
        self.parent.name()
    }

    fn roots(&self) -> BTreeSet<KStringCow<'_>> {
        let mut roots = self.parent.roots();
        roots.insert(KStringCow::from_ref(self.variable));
        roots.insert(KStringCow::from_static("forloop"));
        roots
    }

    fn try_get(&self, path: &[ScalarCow<'_>]) -> Option<ValueCow<'_>> {
        let root = path.first()?.to_kstr();
        match self.own(root.as_str()) {
            Some(value) => liquid_core::model::try_find(value, &path[1..]),
            None => self.parent.try_get(path),
        }
    }

    fn get(&self, path: &[ScalarCow<'_>]) -> Result<ValueCow<'_>> {
        let Some(root) = path.first() else {
            return Err(Error::with_msg("empty variable path"));
        };
        match self.own(root.to_kstr().as_str()) {
            Some(value) => {
                liquid_core::model::try_find(value, &path[1..]).ok_or_else(|| undefined(self, path))
            }
            None => self.parent.get(path),
        }
    }

    fn set_global(&self, name: KString, val: Value) -> Option<Value> {
        self.parent.set_global(name, val)
    }

    fn set_index(&self, name: KString, val: Value) -> Option<Value> {
        self.parent.set_index(name, val)
    }

    fn get_index<'a>(&'a self, name: &str) -> Option<ValueCow<'a>> {
        self.parent.get_index(name)
    }

    fn registers(&self) -> &Registers {
        self.parent.registers()
    }
}

/// `{% capture name %}…{% endcapture %}`: renders its body into a variable, at most
/// [`super::Limits::max_value_bytes`] long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CaptureBlock;

impl BlockReflection for CaptureBlock {
    fn start_tag(&self) -> &str {
        "capture"
    }

    fn end_tag(&self) -> &str {
        "endcapture"
    }

    fn description(&self) -> &str {
        "Renders its body into a variable, within the render's value size limit."
    }
}

impl ParseBlock for CaptureBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut block: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let name = arguments
            .expect_next("Identifier expected")?
            .expect_identifier()
            .into_result()?;
        arguments.expect_nothing()?;
        let body = Template::new(block.parse_all(options)?);
        block.assert_empty();
        Ok(Box::new(Capture {
            name: KString::from_ref(name),
            body,
        }))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

#[derive(Debug)]
struct Capture {
    name: KString,
    body: Template,
}

impl fmt::Display for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{% capture {} %}}", self.name)
    }
}

impl Renderable for Capture {
    fn render_to(&self, _writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let max = runtime
            .registers()
            .get_mut::<super::context::Budget>()
            .limits()
            .max_value_bytes;
        let mut buffer = BoundedWriter::new(max);
        let rendered = self.body.render_to(&mut buffer, runtime);
        if buffer.overflowed {
            return Err(fail(
                runtime,
                limit(format!(
                    "Liquid error: {self} captured more than {max} bytes"
                )),
            ));
        }
        rendered?;
        let text = String::from_utf8_lossy(&buffer.buffer).into_owned();
        let value = Value::scalar(text);
        let size = check_value_size(runtime, &value, "a capture")?;
        charge(runtime, size)?;
        runtime.set_global(self.name.clone(), value);
        Ok(())
    }
}
