//! Human loops: the record kept per loop, the state machine, and the (optionally durable)
//! table that holds them; with a data directory, every change is journaled and fsynced (with
//! group commit) before it is answered, see [`persist`].

pub mod persist;
pub mod record;
pub mod store;

pub use record::{
    format_timestamp, ContentClassifier, FailureCode, LoopPolicy, LoopRecord, LoopStatus,
    IMPLICIT_AVAILABILITY_LIFETIME, IMPLICIT_TASK_COUNT, IMPLICIT_TASK_TIME_LIMIT,
};
pub use store::{Cursor, Ending, ListQuery, LoopError, NewLoop, SortOrder, Started, Store};
