//! Throttle counters: attempts reserved atomically per window.

use super::*;

impl ThrottleStore for DynamoStore {
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> StoreResult<bool> {
        if limit == 0 {
            return Ok(false);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(throttle_key(key, window_start)))
            .update_expression("ADD failures :one SET expires_at = :expires")
            .condition_expression("attribute_not_exists(failures) OR failures < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":limit", n(limit))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(backend(err)),
        }
    }

    async fn release_attempt(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(throttle_key(key, window_start)))
            .update_expression("ADD failures :minus_one")
            .condition_expression("failures > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(backend(err)),
        }
    }
}
