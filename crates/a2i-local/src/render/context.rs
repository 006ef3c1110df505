//! The render-time state: the Liquid runtime that holds `task.input`, assigned variables
//! and the budget every loop, lookup, filter and write draws on, and that records the
//! first failure as a [`RenderingError`] of our own (Liquid's own error texts can carry
//! values from the input, so they are never shown).

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use liquid_core::model::{
    KString, KStringCow, KStringRef, Object, ScalarCow, Value, ValueCow, ValueView,
};
use liquid_core::runtime::{PartialStore, Registers, Renderable};
use liquid_core::{Error, ObjectView, Result, Runtime};

use super::presign::Presign;
use super::{codes, Limits, RenderingError};

/// The first segment of the internal lookup through which `grant_read_access` reaches the
/// presigner (filters only see the innermost runtime frame). Liquid identifiers cannot
/// contain NUL, so no template variable can name it.
pub(crate) const PRESIGN_ROOT: &str = "\u{0}a2i-presign";

/// What a render has used and how it failed, kept in the runtime's registers so that
/// every frame, filter and block reaches it.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    limits: Limits,
    deadline: Option<Instant>,
    /// Bytes produced by filters, lookups of assigned variables and writes.
    work: u64,
    /// Loop iterations so far.
    iterations: u64,
    /// The first failure recorded; it wins over whatever Liquid reports.
    failure: Option<RenderingError>,
    /// The template text, to show only names it contains.
    template: Arc<str>,
}

impl Budget {
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// Records `error` as the render's failure (the first one recorded wins) and returns a
/// Liquid error that carries nothing from the input.
pub(crate) fn fail(runtime: &dyn Runtime, error: RenderingError) -> Error {
    let mut budget = runtime.registers().get_mut::<Budget>();
    if budget.failure.is_none() {
        budget.failure = Some(error);
    }
    Error::with_msg("a2i-local render failure")
}

/// A limit error.
pub(crate) fn limit(message: String) -> RenderingError {
    RenderingError::new(codes::LIMIT_EXCEEDED, message)
}

/// Charges `bytes` of work and checks the work and time budgets.
pub(crate) fn charge(runtime: &dyn Runtime, bytes: usize) -> Result<()> {
    let exceeded = {
        let mut budget = runtime.registers().get_mut::<Budget>();
        budget.work = budget.work.saturating_add(bytes as u64);
        if budget.work > budget.limits.max_work_bytes {
            Some(limit(format!(
                "Liquid error: the render did more than {} bytes of work (filters, variable copies and output)",
                budget.limits.max_work_bytes
            )))
        } else if budget.deadline.is_some_and(|d| Instant::now() > d) {
            Some(limit(format!(
                "Liquid error: the render took longer than {} ms",
                budget.limits.max_duration.as_millis()
            )))
        } else {
            None
        }
    };
    match exceeded {
        Some(error) => Err(fail(runtime, error)),
        None => Ok(()),
    }
}

/// Counts one loop iteration against the budget.
pub(crate) fn iteration(runtime: &dyn Runtime) -> Result<()> {
    let exceeded = {
        let mut budget = runtime.registers().get_mut::<Budget>();
        budget.iterations += 1;
        (budget.iterations > budget.limits.max_iterations).then(|| {
            limit(format!(
                "Liquid error: loops ran more than {} iterations in all",
                budget.limits.max_iterations
            ))
        })
    };
    match exceeded {
        Some(error) => Err(fail(runtime, error)),
        None => charge(runtime, 0),
    }
}

/// Fails the render unless `value` fits in one value's size limit (`what` says where it
/// came from, for the message).
pub(crate) fn check_value_size(
    runtime: &dyn Runtime,
    value: &dyn ValueView,
    what: &str,
) -> Result<usize> {
    let max = runtime
        .registers()
        .get_mut::<Budget>()
        .limits
        .max_value_bytes;
    match value_size(value, max) {
        Some(size) => Ok(size),
        None => Err(fail(
            runtime,
            limit(format!(
                "Liquid error: {what} produced a value larger than {max} bytes"
            )),
        )),
    }
}

/// The approximate size of a value in bytes (string lengths plus 16 bytes per element),
/// or `None` once it exceeds `max`. Iterative, so any depth is fine.
pub(crate) fn value_size(value: &dyn ValueView, max: usize) -> Option<usize> {
    let mut size = 0usize;
    let mut stack: Vec<&dyn ValueView> = vec![value];
    while let Some(v) = stack.pop() {
        size = size.saturating_add(16);
        if let Some(array) = v.as_array() {
            stack.extend(array.values());
        } else if let Some(object) = v.as_object() {
            for (key, item) in object.iter() {
                size = size.saturating_add(key.len());
                stack.push(item);
            }
        } else if let Some(scalar) = v.as_scalar() {
            if scalar.type_name() == "string" {
                size = size.saturating_add(scalar.to_kstr().len());
            }
        }
        if size > max {
            return None;
        }
    }
    Some(size)
}

/// The failure recorded during a render, if any.
pub(crate) fn take_failure(registers: &Registers) -> Option<RenderingError> {
    registers.get_mut::<Budget>().failure.take()
}

/// A path as the template wrote it, showing only names the template itself contains
/// (an index computed from the input shows as `[…]`, so input values never appear).
pub(crate) fn describe_path(runtime: &dyn Runtime, path: &[ScalarCow<'_>]) -> (String, bool) {
    let template = runtime.registers().get_mut::<Budget>().template.clone();
    let mut text = String::new();
    let mut exact = true;
    for (i, segment) in path.iter().enumerate() {
        let name = segment.to_kstr();
        let name = name.as_str();
        let is_identifier = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !name.starts_with(|c: char| c.is_ascii_digit() || c == '-');
        let is_index = segment.type_name() == "whole number";
        if i == 0 {
            text.push_str(name);
        } else if is_index && template.contains(&format!("[{name}]")) {
            text.push_str(&format!("[{name}]"));
        } else if is_identifier && template.contains(name) {
            text.push('.');
            text.push_str(name);
        } else {
            text.push_str("[…]");
            exact = false;
        }
    }
    (text, exact)
}

/// Records a failed lookup of `path` as an undefined variable (with the position of its
/// first mention when the template spells it out) and returns the Liquid error.
pub(crate) fn undefined(runtime: &dyn Runtime, path: &[ScalarCow<'_>]) -> Error {
    let (name, exact) = describe_path(runtime, path);
    let position = if exact {
        let template = runtime.registers().get_mut::<Budget>().template.clone();
        find_mention(&template, &name).map(|offset| super::scan::line_col(&template, offset))
    } else {
        None
    };
    let message = match position {
        Some((line, column)) => {
            format!("Liquid error: undefined variable {name} (line {line}, column {column})")
        }
        None => format!("Liquid error: undefined variable {name}"),
    };
    fail(
        runtime,
        RenderingError::new(codes::UNDEFINED_VARIABLE, message),
    )
}

/// The offset of the first mention of `name` as a whole variable path in `template`.
fn find_mention(template: &str, name: &str) -> Option<usize> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
    let mut from = 0;
    while let Some(p) = template[from..].find(name) {
        let at = from + p;
        let before_ok = template[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !is_name_char(c));
        let after = &template[at + name.len()..];
        let after_ok = after
            .chars()
            .next()
            .is_none_or(|c| !is_name_char(c) && c != '[');
        if before_ok && after_ok {
            return Some(at);
        }
        from = at + name.len().max(1);
    }
    None
}

/// No partials: A2I templates are one file (`include` and `render` are not registered).
#[derive(Debug)]
struct NoPartials;

impl PartialStore for NoPartials {
    fn contains(&self, _name: &str) -> bool {
        false
    }

    fn names(&self) -> Vec<&str> {
        Vec::new()
    }

    fn try_get(&self, _name: &str) -> Option<Arc<dyn Renderable>> {
        None
    }

    fn get(&self, _name: &str) -> Result<Arc<dyn Renderable>> {
        Err(Error::with_msg("partials are not supported"))
    }
}

/// The root runtime of one render: `task` (with `task.input`), assigned variables,
/// increment counters, the registers with the [`Budget`], and the presigner.
pub(crate) struct RootRuntime<'a> {
    globals: Object,
    assigned: RefCell<Object>,
    assigned_bytes: Cell<usize>,
    counters: RefCell<Object>,
    registers: Registers,
    presign: &'a dyn Presign,
}

impl<'a> RootRuntime<'a> {
    /// A runtime where `task.input` is `input`.
    pub(crate) fn new(
        input: Value,
        presign: &'a dyn Presign,
        limits: &Limits,
        template: Arc<str>,
    ) -> Self {
        let mut task = Object::new();
        task.insert("input".into(), input);
        let mut globals = Object::new();
        globals.insert("task".into(), Value::Object(task));
        let registers = Registers::default();
        {
            let mut budget = registers.get_mut::<Budget>();
            budget.limits = limits.clone();
            budget.deadline = Instant::now().checked_add(limits.max_duration);
            budget.template = template;
        }
        Self {
            globals,
            assigned: RefCell::default(),
            assigned_bytes: Cell::new(0),
            counters: RefCell::default(),
            registers,
            presign,
        }
    }

    fn presigned(&self, path: &[ScalarCow<'_>]) -> Result<ValueCow<'_>> {
        let (Some(bucket), Some(key)) = (path.get(1), path.get(2)) else {
            return Err(Error::with_msg(
                "internal presign lookup without bucket and key",
            ));
        };
        let version = path.get(3).map(|v| v.to_kstr());
        match self.presign.presign_get_version(
            bucket.to_kstr().as_str(),
            key.to_kstr().as_str(),
            version.as_ref().map(|v| v.as_str()),
        ) {
            Ok(url) => Ok(ValueCow::Owned(Value::scalar(url))),
            Err(e) => Err(fail(
                self,
                RenderingError::new(
                    codes::GRANT_READ_ACCESS,
                    format!(
                        "Liquid error: grant_read_access could not presign the object: {}",
                        e.reason
                    ),
                ),
            )),
        }
    }
}

impl Runtime for RootRuntime<'_> {
    fn partials(&self) -> &dyn PartialStore {
        &NoPartials
    }

    fn name(&self) -> Option<KStringRef<'_>> {
        None
    }

    fn roots(&self) -> BTreeSet<KStringCow<'_>> {
        let mut roots: BTreeSet<KStringCow<'_>> =
            self.globals.keys().map(|k| k.as_ref().into()).collect();
        roots.extend(self.assigned.borrow().keys().map(|k| k.clone().into()));
        roots
    }

    fn try_get(&self, path: &[ScalarCow<'_>]) -> Option<ValueCow<'_>> {
        let root = path.first()?.to_kstr();
        if root.as_str() == PRESIGN_ROOT {
            return None;
        }
        let assigned = self.assigned.borrow();
        if assigned.contains_key(root.as_str()) {
            let found = liquid_core::model::try_find(assigned.as_value(), path)?.into_owned();
            drop(assigned);
            // A copy: count it, but an existence test never fails the render.
            let size = value_size(&found, usize::MAX).unwrap_or(usize::MAX);
            charge(self, size).ok()?;
            return Some(ValueCow::Owned(found));
        }
        drop(assigned);
        liquid_core::model::try_find(self.globals.as_value(), path)
    }

    fn get(&self, path: &[ScalarCow<'_>]) -> Result<ValueCow<'_>> {
        let Some(root) = path.first() else {
            return Err(Error::with_msg("empty variable path"));
        };
        let root = root.to_kstr();
        if root.as_str() == PRESIGN_ROOT {
            return self.presigned(path);
        }
        let assigned = self.assigned.borrow();
        if assigned.contains_key(root.as_str()) {
            let found =
                liquid_core::model::try_find(assigned.as_value(), path).map(|v| v.into_owned());
            drop(assigned);
            return match found {
                Some(value) => {
                    let size = value_size(&value, usize::MAX).unwrap_or(usize::MAX);
                    charge(self, size)?;
                    Ok(ValueCow::Owned(value))
                }
                None => Err(undefined(self, path)),
            };
        }
        drop(assigned);
        match liquid_core::model::try_find(self.globals.as_value(), path) {
            Some(value) => Ok(value),
            None => Err(undefined(self, path)),
        }
    }

    fn set_global(&self, name: KString, val: Value) -> Option<Value> {
        // Sizes were checked by the filters and blocks that made `val`; what is bounded
        // here is the total held in variables.
        let size = value_size(&val, usize::MAX).unwrap_or(usize::MAX);
        let old = self.assigned.borrow_mut().insert(name, val);
        let old_size = old
            .as_ref()
            .map_or(0, |v| value_size(v, usize::MAX).unwrap_or(usize::MAX));
        let total = self
            .assigned_bytes
            .get()
            .saturating_sub(old_size)
            .saturating_add(size);
        self.assigned_bytes.set(total);
        let max = self
            .registers
            .get_mut::<Budget>()
            .limits
            .max_variables_bytes;
        if total > max {
            // The tag that assigned cannot fail here; the next lookup, filter or write does.
            let _ = fail(
                self,
                limit(format!(
                    "Liquid error: assigned and captured variables hold more than {max} bytes"
                )),
            );
            self.registers.get_mut::<Budget>().work = u64::MAX;
        }
        old
    }

    fn set_index(&self, name: KString, val: Value) -> Option<Value> {
        self.counters.borrow_mut().insert(name, val)
    }

    fn get_index<'b>(&'b self, name: &str) -> Option<ValueCow<'b>> {
        self.counters
            .borrow()
            .get(name)
            .map(|v| ValueCow::Owned(v.to_value()))
    }

    fn registers(&self) -> &Registers {
        &self.registers
    }
}

/// A writer that refuses to grow past a limit (the render's output, or a capture).
pub(crate) struct BoundedWriter {
    pub(crate) buffer: Vec<u8>,
    max: usize,
    pub(crate) overflowed: bool,
}

impl BoundedWriter {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buffer: Vec::new(),
            max,
            overflowed: false,
        }
    }
}

impl Write for BoundedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.buffer.len().saturating_add(buf.len()) > self.max {
            self.overflowed = true;
            return Err(std::io::Error::other("output limit reached"));
        }
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A writer that charges every write to the budget (the top-level output).
pub(crate) struct ChargedWriter<'r> {
    pub(crate) inner: BoundedWriter,
    pub(crate) runtime: &'r dyn Runtime,
}

impl Write for ChargedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if charge(self.runtime, buf.len()).is_err() {
            return Err(std::io::Error::other("render budget exhausted"));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_size_counts_strings_and_elements_and_stops_early() {
        let v = Value::Array(vec![Value::scalar("abcd"), Value::scalar(3)]);
        assert_eq!(value_size(&v, usize::MAX), Some(16 + 16 + 4 + 16));
        assert_eq!(value_size(&v, 20), None);
    }

    #[test]
    fn mentions_are_whole_paths() {
        let t = "{{ task.input.ab }} {{ task.input.a }}";
        assert_eq!(find_mention(t, "task.input.a"), Some(23));
        assert_eq!(find_mention(t, "task.input"), None);
    }
}
