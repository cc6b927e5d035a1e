//! Sign-in throttling: after too many failures for one account, or from one address, within a
//! fixed window, further attempts are refused until the window ends. Counters live in the
//! store and expire with their window (DynamoDB TTL).

use std::time::Duration;

use crate::store::{StoreResult, ThrottleKey, ThrottleStore};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
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

    /// Whether another attempt for `account` from `address` may be made now.
    pub async fn check<S: ThrottleStore>(
        &self,
        store: &S,
        account: &str,
        address: &str,
        now: u64,
    ) -> StoreResult<Result<(), Throttled>> {
        let (start, end) = self.window(now);
        for (key, limit) in self.keys(account, address) {
            if store.failures(&key, start).await? >= limit {
                return Ok(Err(Throttled {
                    retry_after: Duration::from_secs(end - now),
                }));
            }
        }
        Ok(Ok(()))
    }

    pub async fn record_failure<S: ThrottleStore>(
        &self,
        store: &S,
        account: &str,
        address: &str,
        now: u64,
    ) -> StoreResult<()> {
        let (start, end) = self.window(now);
        for (key, _) in self.keys(account, address) {
            store.record_failure(&key, start, end).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[tokio::test]
    async fn refuses_after_the_limit_until_the_window_ends() {
        let dir = std::env::temp_dir().join(format!("switchboard-throttle-{}", std::process::id()));
        let store = SqliteStore::open(&dir.join("t.sqlite3")).unwrap();
        let policy = ThrottlePolicy {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(900),
        };
        let now = 1_800_000_100; // 100 s into a window
        for _ in 0..3 {
            assert_eq!(
                policy.check(&store, "Ann", "1.2.3.4", now).await.unwrap(),
                Ok(())
            );
            policy
                .record_failure(&store, "ann", "1.2.3.4", now)
                .await
                .unwrap();
        }
        let refused = policy.check(&store, "ANN", "5.6.7.8", now).await.unwrap();
        assert_eq!(
            refused,
            Err(Throttled {
                retry_after: Duration::from_secs(800)
            })
        );
        assert_eq!(refused.unwrap_err().minutes(), 14);
        // Another account from the same address still may, until the address's own limit.
        assert_eq!(
            policy.check(&store, "bob", "1.2.3.4", now).await.unwrap(),
            Ok(())
        );
        for _ in 0..2 {
            policy
                .record_failure(&store, "bob", "1.2.3.4", now)
                .await
                .unwrap();
        }
        assert!(
            policy
                .check(&store, "carol", "1.2.3.4", now)
                .await
                .unwrap()
                .is_err()
        );
        // The next window starts afresh.
        assert_eq!(
            policy
                .check(&store, "ann", "1.2.3.4", now + 800)
                .await
                .unwrap(),
            Ok(())
        );
    }
}
