//! argon2id hashing, off the async runtime, with a dummy hash so that an unknown
//! email costs as much as a wrong password.
//!
//! Each hash or verification takes 19 MiB and about a core for tens of milliseconds.
//! At most one per core runs at once (`PERMITS`); the others wait their turn, in
//! order, without holding a thread. A flood of log-ins then costs a bounded amount of
//! memory and leaves the server threads free for pages (each runtime's blocking pool
//! would otherwise grow to 512 threads, 19 MiB each).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use std::sync::{Arc, OnceLock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("the hashing queue is closed")]
    Closed,
}

/// One permit per core, for the whole process.
fn permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Arc::new(Semaphore::new(cores))
    })
}

/// Runs `work` on the blocking pool once a permit is free. The permit goes with the
/// work, so that a request that gives up waiting (a timeout) does not free it while
/// argon2 still runs.
async fn with_permit<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
    let permit: OwnedSemaphorePermit = permits().clone().acquire_owned().await.map_err(|_| HashError::Closed)?;
    Ok(tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await?)
}

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's minimum).
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

pub fn hash_blocking(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

pub async fn hash(password: String) -> Result<String, HashError> {
    with_permit(move || hash_blocking(&password)).await?
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password, made once: verifying against it takes as long as a
/// real verification.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking("dummy password that nobody has; it only spends time")
            .unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$invalid"))
    })
}

/// Verifies `password` against `hash`, or against the dummy hash when there is no
/// user, so that both paths cost the same.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, HashError> {
    with_permit(move || match hash {
        Some(h) => verify_blocking(&password, &h),
        None => {
            verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
}

/// Computes the dummy hash ahead of the first login.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery staple".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify("correct horse battery staple".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
