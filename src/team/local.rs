//! The default store: files under `.rehearsal/` in the working directory, for one machine.
//!
//! - `locks/ENV.lock` is held with an OS file lock (`flock`) for as long as the command runs, and
//!   `locks/ENV.json` says who holds it. The OS releases the lock when its process ends, however
//!   it ends: a crashed command leaves no lock behind, so there is no lease to expire.
//! - `journal.jsonl`: one JSON record per line, appended and flushed to disk.
//! - `applied/DIGEST.json`: a plan's claim, created only if it does not exist.
//! - `paused/ENV.json`: the environment is paused.
//!
//! Every file but the journal is written whole to a temporary file and renamed into place.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Claim, History, JournalRecord, LockRecord, Pause, TeamError, TeamStore};

/// The directory, relative to where rehearsal runs.
pub const DIR: &str = ".rehearsal";

pub struct LocalStore {
    dir: PathBuf,
    /// The lock files this process holds, by environment: dropping one lets its lock go.
    held: Mutex<HashMap<String, File>>,
}

impl LocalStore {
    /// The store in `dir` (`.rehearsal`), made on first use.
    pub fn open(dir: impl Into<PathBuf>) -> LocalStore {
        LocalStore {
            dir: dir.into(),
            held: Mutex::new(HashMap::new()),
        }
    }

    fn path(&self, sub: &str, key: &str, ext: &str) -> PathBuf {
        self.dir.join(sub).join(format!("{}.{ext}", file_key(key)))
    }

    fn io(&self, what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> TeamError {
        let where_ = path.display().to_string();
        move |error| TeamError::Io {
            what,
            where_,
            error,
        }
    }

    /// Make `.rehearsal/SUB`, and `.rehearsal/.gitignore` so that git leaves it all alone.
    fn dir_for(&self, sub: Option<&str>) -> Result<PathBuf, TeamError> {
        let dir = match sub {
            Some(sub) => self.dir.join(sub),
            None => self.dir.clone(),
        };
        std::fs::create_dir_all(&dir).map_err(self.io("the directory", &dir))?;
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            write_whole(&ignore, b"*\n").map_err(self.io("the file", &ignore))?;
        }
        Ok(dir)
    }

    fn write_json(&self, path: &Path, value: &impl Serialize) -> Result<(), TeamError> {
        let text = serde_json::to_vec_pretty(value).expect("records serialize");
        write_whole(path, &text).map_err(self.io("the file", path))
    }

    /// The JSON at `path`; `None` if there is none, or it is not whole (a writer is between
    /// taking a lock and saying who it is).
    fn read_json<T: DeserializeOwned>(&self, path: &Path) -> Result<Option<T>, TeamError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("the file", path)(e)),
        }
    }

    fn journal(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    /// Who holds a lock whose record is not written yet.
    fn unnamed_holder(env: &str) -> LockRecord {
        LockRecord {
            id: "(starting)".into(),
            env: env.into(),
            holder: super::Identity {
                who: "another rehearsal on this machine".into(),
                account: None,
            },
            since: super::record::now(),
            purpose: "starting".into(),
            pid: 0,
            host: super::record::host(),
            lease_expires: None,
        }
    }
}

/// A name safe as a file name: itself when it is plain, else its hex.
fn file_key(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        name.to_string()
    } else {
        format!("x-{}", hex::encode(name))
    }
}

/// Write `bytes` to `path` whole or not at all: a temporary file beside it, synced, renamed.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[async_trait]
impl TeamStore for LocalStore {
    fn name(&self) -> String {
        format!("{}/", self.dir.display())
    }

    fn lease(&self) -> Option<Duration> {
        None
    }

    async fn try_lock(&self, lock: &LockRecord) -> Result<Result<(), LockRecord>, TeamError> {
        self.dir_for(Some("locks"))?;
        let path = self.path("locks", &lock.env, "lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(self.io("the lock file", &path))?;
        match file.try_lock() {
            Ok(()) => {
                self.write_json(&self.path("locks", &lock.env, "json"), lock)?;
                self.held
                    .lock()
                    .expect("not poisoned")
                    .insert(lock.env.clone(), file);
                Ok(Ok(()))
            }
            Err(TryLockError::WouldBlock) => {
                let holder = self.read_json(&self.path("locks", &lock.env, "json"))?;
                Ok(Err(
                    holder.unwrap_or_else(|| Self::unnamed_holder(&lock.env))
                ))
            }
            Err(TryLockError::Error(e)) => Err(self.io("the lock file", &path)(e)),
        }
    }

    async fn renew(&self, _lock: &LockRecord) -> Result<(), TeamError> {
        Ok(())
    }

    async fn release(&self, lock: &LockRecord) -> Result<(), TeamError> {
        let file = self.held.lock().expect("not poisoned").remove(&lock.env);
        if let Some(file) = file {
            // The record goes first: whoever sees the lock free never reads a stale holder.
            let record = self.path("locks", &lock.env, "json");
            let _ = std::fs::remove_file(&record);
            drop(file);
        }
        Ok(())
    }

    async fn force_unlock(&self, env: &str, id: &str) -> Result<LockRecord, TeamError> {
        let path = self.path("locks", env, "lock");
        let record = self.path("locks", env, "json");
        let holder: Option<LockRecord> = self.read_json(&record)?;
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TeamError::NotLocked { env: env.into() });
            }
            Err(e) => return Err(self.io("the lock file", &path)(e)),
        };
        let running = matches!(file.try_lock(), Err(TryLockError::WouldBlock));
        match holder {
            None => Err(TeamError::NotLocked { env: env.into() }),
            Some(holder) if holder.id != id => Err(TeamError::OtherLock {
                env: env.into(),
                given: id.into(),
                holder: Box::new(holder),
            }),
            Some(holder) if running => Err(TeamError::HeldByRunningProcess {
                env: env.into(),
                holder: Box::new(holder),
            }),
            // Its process is gone (the OS let the lock go): only its record was left.
            Some(holder) => {
                let _ = std::fs::remove_file(&record);
                Ok(holder)
            }
        }
    }

    async fn append(&self, record: &JournalRecord) -> Result<(), TeamError> {
        self.dir_for(None)?;
        let path = self.journal();
        let mut line = serde_json::to_vec(record).expect("records serialize");
        line.push(b'\n');
        // One write of a whole line with O_APPEND: lines of two processes never interleave.
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(self.io("the journal", &path))?;
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(self.io("the journal", &path))
    }

    async fn history(&self, env: Option<&str>) -> Result<History, TeamError> {
        let path = self.journal();
        let text = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io("the journal", &path)(e)),
        };
        let mut history = History::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<JournalRecord>(line) {
                Ok(r) if env.is_none_or(|e| e == r.env) => history.records.push(r),
                Ok(_) => {}
                Err(_) => history.unreadable += 1,
            }
        }
        history.records.reverse();
        Ok(history)
    }

    async fn claim(&self, claim: &Claim) -> Result<Option<Claim>, TeamError> {
        let dir = self.dir_for(Some("applied"))?;
        let path = self.path("applied", &claim.digest, "json");
        let text = serde_json::to_vec_pretty(claim).expect("records serialize");
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(self.io("the claim", &path))?;
        tmp.write_all(&text)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(self.io("the claim", &path))?;
        // Linked into place only if no claim is there: of two applies, one wins.
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok(None),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(Some(self.read_json(&path)?.unwrap_or_else(|| Claim {
                    by: super::Identity {
                        who: "an unreadable claim".into(),
                        account: None,
                    },
                    at: "?".into(),
                    ..claim.clone()
                })))
            }
            Err(e) => Err(self.io("the claim", &path)(e.error)),
        }
    }

    async fn pause(&self, pause: &Pause) -> Result<(), TeamError> {
        self.dir_for(Some("paused"))?;
        self.write_json(&self.path("paused", &pause.env, "json"), pause)
    }

    async fn resume(&self, env: &str) -> Result<Option<Pause>, TeamError> {
        let path = self.path("paused", env, "json");
        let pause = self.read_json(&path)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(pause),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("the pause", &path)(e)),
        }
    }

    async fn paused(&self, env: &str) -> Result<Option<Pause>, TeamError> {
        self.read_json(&self.path("paused", env, "json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::team::Identity;

    fn alice() -> Identity {
        Identity {
            who: "alice@laptop".into(),
            account: None,
        }
    }

    #[tokio::test]
    async fn a_held_lock_is_refused_to_another_opener_and_free_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalStore::open(dir.path());
        let second = LocalStore::open(dir.path());
        let lock = LockRecord::new("staging", &alice(), "apply");
        assert_eq!(first.try_lock(&lock).await.unwrap(), Ok(()));
        let other = LockRecord::new("staging", &alice(), "destroy");
        assert_eq!(second.try_lock(&other).await.unwrap(), Err(lock.clone()));
        first.release(&lock).await.unwrap();
        assert_eq!(second.try_lock(&other).await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn a_digest_is_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path());
        let claim = |who: &str| Claim {
            digest: "abc".into(),
            env: "staging".into(),
            by: Identity {
                who: who.into(),
                account: None,
            },
            at: "2026-12-06T10:00:00Z".into(),
        };
        assert_eq!(store.claim(&claim("alice")).await.unwrap(), None);
        assert_eq!(
            store.claim(&claim("bob")).await.unwrap(),
            Some(claim("alice"))
        );
    }

    #[tokio::test]
    async fn the_first_record_of_a_fresh_directory_makes_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path().join(DIR));
        let pause = Pause {
            env: "staging".into(),
            by: alice(),
            since: "2026-12-06T10:00:00Z".into(),
            reason: "incident".into(),
        };
        let record = JournalRecord {
            id: "r1".into(),
            env: "staging".into(),
            who: alice(),
            at: pause.since.clone(),
            command: "pause staging".into(),
            plan_digest: None,
            actions: vec![],
            result: "succeeded".into(),
            exit_code: 0,
            duration_secs: 0.0,
            reasons: vec![pause.reason.clone()],
        };
        store.append(&record).await.unwrap();
        assert_eq!(store.history(None).await.unwrap().records, vec![record]);
    }

    #[test]
    fn an_environment_name_that_is_no_plain_file_name_is_hex() {
        assert_eq!(file_key("staging"), "staging");
        assert_eq!(file_key("../x"), "x-2e2e2f78");
    }
}
