//! Reading the loop registry (`a2i_review::registry`): `<prefix><humanLoopName>.json` in the
//! results bucket, written by the start function before each `StartHumanLoop`, linking a loop
//! to its item. This module only says where the registry is and folds a read into a
//! [`RegistryLookup`](super::RegistryLookup) that a listing can show per loop.

use a2i_review::registry::Registry;
pub use a2i_review::registry::{
    LoopRegistration as Registration, RegisteredSource as RegistrationSource,
    DEFAULT_REGISTRY_PREFIX,
};

use super::RegistryLookup;

/// Where the registrations are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryLocation {
    /// The results bucket.
    pub bucket: String,
    /// The key prefix (`loops/`).
    pub prefix: String,
}

impl RegistryLocation {
    /// The registry at this location, read and written through `s3`.
    pub fn open(&self, s3: &aws_sdk_s3::Client) -> Registry {
        Registry::new(s3.clone(), &self.bucket, &self.prefix)
    }

    /// Reads `name`'s registration; a failure is kept as its message (which names the key
    /// and the rule broken, never content), so one bad object does not stop a listing.
    pub async fn lookup(&self, s3: &aws_sdk_s3::Client, name: &str) -> RegistryLookup {
        let registry = self.open(s3);
        match registry.read(name).await {
            Ok(Some(r)) if r.human_loop_name == name => RegistryLookup::Found(Box::new(r)),
            Ok(Some(_)) => RegistryLookup::Unreadable(format!(
                "loop registry s3://{}/{}: registers another loop",
                self.bucket,
                registry.key(name)
            )),
            Ok(None) => RegistryLookup::Absent,
            Err(e) => RegistryLookup::Unreadable(e.to_string()),
        }
    }
}
