//! Throttle counters: attempts reserved atomically per window.

use super::*;

impl ThrottleStore for SqliteStore {
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> StoreResult<bool> {
        self.with(|conn| {
            // Expired counters go as new ones come, as DynamoDB's TTL does for the other store.
            conn.execute(
                "DELETE FROM throttle WHERE expires_at < ?1",
                [window_start as i64],
            )
            .map_err(backend)?;
            // One statement: the count grows only while under the limit.
            let counted = conn
                .execute(
                    "INSERT INTO throttle (key, window_start, failures, expires_at) \
                     VALUES (?1, ?2, 1, ?3) \
                     ON CONFLICT (key, window_start) DO UPDATE SET failures = failures + 1 \
                     WHERE failures < ?4",
                    params![
                        key.storage_key(),
                        window_start as i64,
                        expires_at as i64,
                        limit
                    ],
                )
                .map_err(backend)?;
            Ok(counted == 1 && limit > 0)
        })
    }

    async fn release_attempt(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE throttle SET failures = failures - 1 \
                 WHERE key = ?1 AND window_start = ?2 AND failures > 0",
                params![key.storage_key(), window_start as i64],
            )
            .map_err(backend)?;
            Ok(())
        })
    }
}
