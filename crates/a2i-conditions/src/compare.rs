//! The five numeric comparisons A2I's condition types share (`…Equals`, `…LessThan`,
//! `…LessThanEquals`, `…GreaterThan`, `…GreaterThanEquals`): read from the parameters,
//! applied to a confidence, and put into words for the reasons.

use super::error::ConditionError;
use super::params::Params;

/// One comparison operator, named by the suffix A2I gives its parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Equals,
    LessThan,
    LessThanEquals,
    GreaterThan,
    GreaterThanEquals,
}

impl Op {
    /// Every operator, in the order A2I's documentation lists them.
    pub(crate) const ALL: [Op; 5] = [
        Op::Equals,
        Op::LessThan,
        Op::LessThanEquals,
        Op::GreaterThan,
        Op::GreaterThanEquals,
    ];

    /// The parameter-name suffix, e.g. `LessThanEquals` in `ConfidenceLessThanEquals`.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Op::Equals => "Equals",
            Op::LessThan => "LessThan",
            Op::LessThanEquals => "LessThanEquals",
            Op::GreaterThan => "GreaterThan",
            Op::GreaterThanEquals => "GreaterThanEquals",
        }
    }

    /// The operator as a symbol, for reasons.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Op::Equals => "=",
            Op::LessThan => "<",
            Op::LessThanEquals => "<=",
            Op::GreaterThan => ">",
            Op::GreaterThanEquals => ">=",
        }
    }

    /// Whether `x <op> bound` holds, compared as `f64`.
    pub(crate) fn holds(self, x: f64, bound: f64) -> bool {
        match self {
            Op::Equals => x == bound,
            Op::LessThan => x < bound,
            Op::LessThanEquals => x <= bound,
            Op::GreaterThan => x > bound,
            Op::GreaterThanEquals => x >= bound,
        }
    }
}

/// The comparisons given for one family of parameters (one prefix); all must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Comparisons(Vec<(Op, f64)>);

impl Comparisons {
    /// Reads `<prefix>Equals` … `<prefix>GreaterThanEquals`, each a number inside `range`.
    pub(crate) fn parse(
        params: &Params,
        prefix: &str,
        range: Option<(f64, f64)>,
    ) -> Result<Self, ConditionError> {
        let mut found = Vec::new();
        for op in Op::ALL {
            if let Some(bound) = params.number(&format!("{prefix}{}", op.suffix()), range)? {
                found.push((op, bound));
            }
        }
        Ok(Self(found))
    }

    /// Whether no comparison of this family was given.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `x` satisfies every comparison (vacuously true when none was given).
    pub(crate) fn holds(&self, x: f64) -> bool {
        self.0.iter().all(|(op, bound)| op.holds(x, *bound))
    }

    /// The comparisons in words, e.g. `>= 90 and <= 99`.
    pub(crate) fn bounds(&self) -> String {
        self.0
            .iter()
            .map(|(op, bound)| format!("{} {bound}", op.symbol()))
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KNOWN: &[&str] = &[
        "ConfidenceEquals",
        "ConfidenceLessThan",
        "ConfidenceLessThanEquals",
        "ConfidenceGreaterThan",
        "ConfidenceGreaterThanEquals",
    ];

    fn parse(value: serde_json::Value) -> Result<Comparisons, ConditionError> {
        let params = Params::new(&value, "P".into(), "Test", KNOWN)?;
        Comparisons::parse(&params, "Confidence", Some((0.0, 100.0)))
    }

    #[test]
    fn every_given_comparison_must_hold() {
        let c = parse(json!({"ConfidenceGreaterThanEquals": 90, "ConfidenceLessThanEquals": 99}))
            .unwrap();
        assert!(c.holds(90.0));
        assert!(c.holds(99.0));
        assert!(!c.holds(89.99));
        assert!(!c.holds(99.5));
    }

    #[test]
    fn each_operator_compares_as_its_name_says() {
        assert!(Op::Equals.holds(85.0, 85.0) && !Op::Equals.holds(85.1, 85.0));
        assert!(Op::LessThan.holds(59.9, 60.0) && !Op::LessThan.holds(60.0, 60.0));
        assert!(Op::LessThanEquals.holds(60.0, 60.0) && !Op::LessThanEquals.holds(60.1, 60.0));
        assert!(Op::GreaterThan.holds(60.1, 60.0) && !Op::GreaterThan.holds(60.0, 60.0));
        assert!(
            Op::GreaterThanEquals.holds(60.0, 60.0) && !Op::GreaterThanEquals.holds(59.9, 60.0)
        );
    }

    #[test]
    fn bounds_read_in_documentation_order() {
        let c = parse(json!({"ConfidenceLessThanEquals": 99, "ConfidenceGreaterThanEquals": 90}))
            .unwrap();
        assert_eq!(c.bounds(), "<= 99 and >= 90");
    }

    #[test]
    fn no_comparison_given_is_empty() {
        assert!(parse(json!({})).unwrap().is_empty());
    }

    #[test]
    fn comparison_outside_the_range_is_rejected() {
        let err = parse(json!({"ConfidenceLessThan": 101})).unwrap_err();
        assert_eq!(err.path, "P.ConfidenceLessThan");
        assert_eq!(
            err.message,
            "101 is out of range: ConfidenceLessThan must be from 0 to 100"
        );
    }
}
