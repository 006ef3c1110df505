//! Background work (event deliveries, delayed stops) that callers may need to wait for:
//! tests and the pipeline call [`Background::settled`] to know that every event caused so
//! far has reached its sinks.

use std::future::Future;

use tokio::sync::watch;

/// Counts running background tasks and lets callers wait until none is left.
#[derive(Debug, Clone)]
pub struct Background {
    running: watch::Sender<usize>,
}

impl Default for Background {
    fn default() -> Self {
        Self::new()
    }
}

/// Decrements the count when the task ends, even if it panics.
struct Guard(watch::Sender<usize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Background {
    /// No task running.
    pub fn new() -> Self {
        Self {
            running: watch::Sender::new(0),
        }
    }

    /// Spawns `task` on the current runtime and counts it until it ends.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.running.send_modify(|n| *n += 1);
        let guard = Guard(self.running.clone());
        tokio::spawn(async move {
            let _guard = guard;
            task.await;
        });
    }

    /// How many tasks are running.
    pub fn running(&self) -> usize {
        *self.running.borrow()
    }

    /// Waits until no task is running. Tasks spawned by running tasks (an S3 event whose
    /// handler starts loops, say) are counted before their parent ends, so this waits for
    /// whole chains.
    pub async fn settled(&self) {
        let mut rx = self.running.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn settled_waits_for_nested_tasks() {
        let bg = Background::new();
        let done = Arc::new(AtomicBool::new(false));
        let (inner_bg, inner_done) = (bg.clone(), done.clone());
        bg.spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            inner_bg.spawn(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                inner_done.store(true, Ordering::SeqCst);
            });
        });
        bg.settled().await;
        assert!(done.load(Ordering::SeqCst));
        assert_eq!(bg.running(), 0);
    }
}
