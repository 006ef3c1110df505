//! An in-memory [`FlowLookup`]: flow definitions given as [`FlowPolicy`] values, for tests
//! and for library users who start loops without a control plane.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::flows::{FlowLookup, FlowPolicy};

/// Flow definitions held in memory, by name. Changes are seen by loops started afterwards;
/// running loops keep the policy they started with.
#[derive(Debug, Default)]
pub struct StaticFlows {
    flows: RwLock<HashMap<String, FlowPolicy>>,
}

impl StaticFlows {
    /// No flow definitions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shares it, to pass to [`crate::LocalA2iBuilder::flow_lookup`] and keep changing it.
    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }

    /// Adds (or replaces) the flow definition `policy.name`; returns the one replaced.
    pub fn insert(&self, policy: FlowPolicy) -> Option<FlowPolicy> {
        self.write().insert(policy.name.clone(), policy)
    }

    /// Removes the flow definition `name`; returns it.
    pub fn remove(&self, name: &str) -> Option<FlowPolicy> {
        self.write().remove(name)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, FlowPolicy>> {
        // Every change is a single insert or remove, so a poisoned lock is still consistent.
        self.flows.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl FlowLookup for StaticFlows {
    fn flow(&self, name: &str) -> Option<FlowPolicy> {
        self.flows
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::S3Location;
    use std::time::Duration;

    fn policy(name: &str, task_count: u8) -> FlowPolicy {
        FlowPolicy {
            name: name.to_owned(),
            arn: format!("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/{name}"),
            output: S3Location::parse("s3://out/p").unwrap(),
            task_count,
            task_time_limit: Duration::from_secs(60),
            availability_lifetime: Duration::from_secs(600),
            human_task_ui_arn: None,
            title: None,
            description: None,
            keywords: Vec::new(),
            request_source: None,
            activation_conditions: None,
        }
    }

    #[test]
    fn inserted_flows_are_found_until_removed() {
        let flows = StaticFlows::new();
        assert!(flows.flow("a").is_none());
        assert!(flows.insert(policy("a", 1)).is_none());
        assert_eq!(flows.insert(policy("a", 2)).map(|p| p.task_count), Some(1));
        assert_eq!(flows.flow("a").map(|p| p.task_count), Some(2));
        assert_eq!(flows.remove("a").map(|p| p.task_count), Some(2));
        assert!(flows.flow("a").is_none());
    }
}
