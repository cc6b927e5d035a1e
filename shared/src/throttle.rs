//! Sign-in throttling: after too many failures for one account, or from one address, within a
//! fixed window, further attempts are refused until the window ends. Counters live in the
//! store and expire with their window (DynamoDB TTL).

use std::time::Duration;

use secrecy::SecretString;

use crate::password::PasswordDigest;
use crate::store::{StoreResult, ThrottleKey, ThrottleStore};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
}

/// Who is trying, from where, when.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    pub account: &'a str,
    pub address: &'a str,
    pub now: u64,
}

/// Refused: how long until attempts are accepted again.
#[derive(Debug, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

impl Throttled {
    /// Whole minutes, rounded up, for the message.
    pub fn minutes(&self) -> u64 {
        self.retry_after.as_secs().div_ceil(60).max(1)
    }

    /// "Wait 3 minutes and try again."
    pub fn wait_message(&self) -> String {
        let minutes = self.minutes();
        let plural = if minutes == 1 { "" } else { "s" };
        format!("Wait {minutes} minute{plural} and try again.")
    }
}

impl ThrottlePolicy {
    fn window(&self, now: u64) -> (u64, u64) {
        let length = self.window.as_secs().max(1);
        let start = now - now % length;
        (start, start + length)
    }

    fn keys(&self, account: &str, address: &str) -> [(ThrottleKey, u32); 2] {
        [
            (
                ThrottleKey::Account(account.to_lowercase()),
                self.per_account,
            ),
            (ThrottleKey::Address(address.to_string()), self.per_address),
        ]
    }

    /// Checks `password` for `account` (against `digest`, or the dummy hash when there is
    /// none) as one throttled attempt from `address`: reserved before the check, given back
    /// if the password was right. `Err` when refused, without checking.
    pub async fn verify_password<S: ThrottleStore>(
        &self,
        store: &S,
        attempt: Attempt<'_>,
        password: &SecretString,
        digest: Option<&PasswordDigest>,
    ) -> StoreResult<Result<bool, Throttled>> {
        let reservation = match self
            .reserve(store, attempt.account, attempt.address, attempt.now)
            .await?
        {
            Ok(reservation) => reservation,
            Err(throttled) => return Ok(Err(throttled)),
        };
        let right = crate::password::verify(password, digest);
        if right {
            reservation.release(store).await?;
        } else {
            reservation.keep();
        }
        Ok(Ok(right))
    }

    /// Reserves an attempt for `account` from `address` before the password is checked: the
    /// reservation counts as a failure unless it is released (the password was right). Past
    /// either limit the attempt is refused, and counts nothing.
    pub async fn reserve<S: ThrottleStore>(
        &self,
        store: &S,
        account: &str,
        address: &str,
        now: u64,
    ) -> StoreResult<Result<Reservation, Throttled>> {
        let (start, end) = self.window(now);
        let mut reserved = Vec::new();
        for (key, limit) in self.keys(account, address) {
            if store.reserve_attempt(&key, start, end, limit).await? {
                reserved.push(key);
            } else {
                // Refused by this key: the others' places go back.
                for key in &reserved {
                    store.release_attempt(key, start).await?;
                }
                return Ok(Err(Throttled {
                    retry_after: Duration::from_secs(end - now),
                }));
            }
        }
        Ok(Ok(Reservation {
            keys: reserved,
            window_start: start,
        }))
    }
}

/// An attempt counted against the limits, as a failure unless released.
#[must_use = "a reservation counts as a failure unless released"]
#[derive(Debug)]
pub struct Reservation {
    keys: Vec<ThrottleKey>,
    window_start: u64,
}

impl Reservation {
    /// The attempt succeeded: it no longer counts.
    pub async fn release<S: ThrottleStore>(self, store: &S) -> StoreResult<()> {
        for key in &self.keys {
            store.release_attempt(key, self.window_start).await?;
        }
        Ok(())
    }

    /// The attempt failed: it stays counted.
    pub fn keep(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    fn store() -> SqliteStore {
        let dir = std::env::temp_dir().join(format!("switchboard-throttle-{}", std::process::id()));
        SqliteStore::open(&dir.join("t.sqlite3")).unwrap()
    }

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(900),
        }
    }

    #[tokio::test]
    async fn refuses_after_the_limit_until_the_window_ends() {
        let (store, policy) = (store(), policy());
        let now = 1_800_000_100; // 100 s into a window
        for _ in 0..3 {
            let reserved = policy.reserve(&store, "Ann", "1.2.3.4", now).await.unwrap();
            reserved.unwrap().keep();
        }
        let refused = policy.reserve(&store, "ANN", "5.6.7.8", now).await.unwrap();
        let refused = refused.unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(800));
        assert_eq!(refused.minutes(), 14);
        // Another account from the same address still may, until the address's own limit;
        // the refused attempt above took nothing from it.
        for _ in 0..2 {
            let reserved = policy.reserve(&store, "bob", "1.2.3.4", now).await.unwrap();
            reserved.unwrap().keep();
        }
        assert!(
            policy
                .reserve(&store, "carol", "1.2.3.4", now)
                .await
                .unwrap()
                .is_err()
        );
        // The next window starts afresh.
        let later = policy.reserve(&store, "ann", "1.2.3.4", now + 800).await;
        later.unwrap().unwrap().keep();
    }

    #[tokio::test]
    async fn successes_give_their_places_back() {
        let (store, policy) = (store(), policy());
        let now = 1_800_010_000;
        for _ in 0..10 {
            let reserved = policy
                .reserve(&store, "dora", "9.9.9.9", now)
                .await
                .unwrap();
            reserved.unwrap().release(&store).await.unwrap();
        }
        for _ in 0..3 {
            let reserved = policy
                .reserve(&store, "dora", "9.9.9.9", now)
                .await
                .unwrap();
            reserved.unwrap().keep();
        }
        assert!(
            policy
                .reserve(&store, "dora", "9.9.9.9", now)
                .await
                .unwrap()
                .is_err()
        );
    }
}
