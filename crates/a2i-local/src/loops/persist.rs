//! Durable state: the whole loop table as one JSON file, replaced atomically (write a temp
//! file, fsync, rename), so a crash leaves either the old or the new state, never half of one.

use std::io::Write;
use std::path::{Path, PathBuf};

use tokio::sync::Mutex;

/// Writes snapshots of the state to one file, newest first-come: a snapshot older than the
/// one already on disk is skipped, so concurrent writers can never put old state back.
#[derive(Debug)]
pub struct Persister {
    path: PathBuf,
    written_generation: Mutex<u64>,
}

impl Persister {
    /// A persister for `path` (the file need not exist yet).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            written_generation: Mutex::new(0),
        }
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` (the snapshot taken at `generation`) unless a newer snapshot is
    /// already on disk. Returns once the snapshot (or a newer one) is durable.
    pub async fn write(&self, generation: u64, bytes: Vec<u8>) -> std::io::Result<()> {
        let mut written = self.written_generation.lock().await;
        if generation <= *written {
            return Ok(());
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(std::io::Error::other)??;
        *written = generation;
        Ok(())
    }
}

/// Replaces `path` with `bytes` atomically.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // Make the rename itself durable; not every platform lets a directory be opened, and
    // the data is already safe in the file, so a failure here is not an error.
    if let Some(dir) = path.parent() {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn older_snapshots_never_overwrite_newer_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = Persister::new(dir.path().join("state.json"));
        p.write(2, b"two".to_vec()).await.unwrap();
        p.write(1, b"one".to_vec()).await.unwrap();
        assert_eq!(std::fs::read(p.path()).unwrap(), b"two");
        p.write(3, b"three".to_vec()).await.unwrap();
        assert_eq!(std::fs::read(p.path()).unwrap(), b"three");
        assert!(!dir.path().join("state.json.tmp").exists());
    }
}
