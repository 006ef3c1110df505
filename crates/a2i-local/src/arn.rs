//! Flow-definition and human-loop ARNs: the model's patterns, and the parts (partition,
//! region, account, flow-definition name) the runtime derives loop ARNs, events and output
//! paths from.

use std::sync::LazyLock;

use regex::Regex;

/// The model's maximum length of a FlowDefinitionArn.
pub const MAX_FLOW_DEFINITION_ARN_LEN: usize = 1024;

/// The model's FlowDefinitionArn pattern, as the model writes it (unanchored).
pub const FLOW_DEFINITION_ARN_PATTERN: &str =
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:flow-definition/.*";

/// The pattern anchored at both ends, with captures. Smithy patterns are not implicitly
/// anchored, but the runtime must split the ARN into parts, so it accepts only strings that
/// are entirely an ARN (stricter than the model; documented in the crate docs).
static FLOW_DEFINITION_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:(aws[a-z\-]*):sagemaker:([a-z0-9\-]*):([0-9]{12}):flow-definition/(.*)$")
        .expect("invariant: the flow-definition ARN regex is a valid literal")
});

/// A FlowDefinitionArn that matches the model's pattern, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDefinitionArn {
    raw: String,
    partition: String,
    region: String,
    account: String,
    name: String,
}

/// Why a string is not a valid FlowDefinitionArn; the text is the rule broken, phrased to
/// follow "Member must".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    /// Longer than `MAX_FLOW_DEFINITION_ARN_LEN` characters.
    #[error("have length less than or equal to {MAX_FLOW_DEFINITION_ARN_LEN}")]
    TooLong,
    /// Does not match `FLOW_DEFINITION_ARN_PATTERN`.
    #[error("satisfy regular expression pattern: {FLOW_DEFINITION_ARN_PATTERN}")]
    Pattern,
}

impl FlowDefinitionArn {
    /// Checks the model's length and pattern and splits the ARN.
    pub fn parse(raw: &str) -> Result<Self, ArnError> {
        if raw.chars().count() > MAX_FLOW_DEFINITION_ARN_LEN {
            return Err(ArnError::TooLong);
        }
        let caps = FLOW_DEFINITION_ARN.captures(raw).ok_or(ArnError::Pattern)?;
        let part = |i: usize| caps.get(i).map_or("", |m| m.as_str()).to_owned();
        Ok(Self {
            raw: raw.to_owned(),
            partition: part(1),
            region: part(2),
            account: part(3),
            name: part(4),
        })
    }

    /// The ARN as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The partition (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The region; the model allows it to be empty.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The 12-digit account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The flow-definition name: the first path segment of every output.json key.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ARN of a loop of this flow definition, in the real format
    /// `arn:<partition>:sagemaker:<region>:<account>:human-loop/<name>`; `default_region` is
    /// used when the flow-definition ARN has none.
    pub fn human_loop_arn(&self, loop_name: &str, default_region: &str) -> String {
        let region = if self.region.is_empty() {
            default_region
        } else {
            &self.region
        };
        format!(
            "arn:{}:sagemaker:{}:{}:human-loop/{}",
            self.partition, region, self.account, loop_name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_arn_is_split_into_its_parts() {
        let arn = FlowDefinitionArn::parse(
            "arn:aws:sagemaker:eu-west-1:111122223333:flow-definition/fd-1",
        )
        .unwrap();
        assert_eq!(arn.partition(), "aws");
        assert_eq!(arn.region(), "eu-west-1");
        assert_eq!(arn.account(), "111122223333");
        assert_eq!(arn.name(), "fd-1");
        assert_eq!(
            arn.human_loop_arn("loop-1", "us-east-1"),
            "arn:aws:sagemaker:eu-west-1:111122223333:human-loop/loop-1"
        );
    }

    #[test]
    fn an_empty_region_falls_back_to_the_default() {
        let arn = FlowDefinitionArn::parse("arn:aws-cn:sagemaker::111122223333:flow-definition/fd")
            .unwrap();
        assert_eq!(
            arn.human_loop_arn("l", "cn-north-1"),
            "arn:aws-cn:sagemaker:cn-north-1:111122223333:human-loop/l"
        );
    }

    #[test]
    fn invalid_arns_are_refused_with_the_rule() {
        for bad in [
            "",
            "arn:aws:sagemaker:us-east-1:1111:flow-definition/fd",
            "arn:aws:s3:us-east-1:111122223333:flow-definition/fd",
            "xarn:aws:sagemaker:us-east-1:111122223333:flow-definition/fd",
            "arn:aws:sagemaker:US-EAST-1:111122223333:flow-definition/fd",
        ] {
            assert_eq!(
                FlowDefinitionArn::parse(bad),
                Err(ArnError::Pattern),
                "{bad}"
            );
        }
        let long = format!(
            "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/{}",
            "a".repeat(1024)
        );
        assert_eq!(FlowDefinitionArn::parse(&long), Err(ArnError::TooLong));
    }
}
