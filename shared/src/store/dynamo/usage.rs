//! Usage: replies' tokens and costs by month, spend caps.

use super::*;
use crate::limits::SendLimits;

/// How many pages of one month's usage lines a usage report reads at most (each page holds
/// thousands of lines).
pub(super) const USAGE_READ_BUDGET: usize = 10;

#[derive(Deserialize)]
pub(super) struct UsageItem {
    #[serde(rename = "SK")]
    pub(super) sk: String,
    #[serde(default)]
    pub(super) label: String,
    #[serde(rename = "GSI1SK", default)]
    pub(super) username: String,
    #[serde(default)]
    pub(super) input_tokens: u64,
    #[serde(default)]
    pub(super) output_tokens: u64,
    #[serde(default)]
    pub(super) cost: u64,
    #[serde(default)]
    pub(super) replies: u64,
    #[serde(default)]
    pub(super) estimated_replies: u64,
    #[serde(default)]
    pub(super) cache_read_tokens: u64,
    #[serde(default)]
    pub(super) cache_write_tokens: u64,
    /// In nano-dollars.
    #[serde(default)]
    pub(super) cache_saved: u64,
}

impl UsageItem {
    pub(super) fn totals(&self) -> Totals {
        Totals {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost: Cost::from_nanos(self.cost),
            replies: self.replies,
            estimated_replies: self.estimated_replies,
            cache: Cached {
                read_tokens: self.cache_read_tokens,
                write_tokens: self.cache_write_tokens,
                saved: Cost::from_nanos(self.cache_saved),
            },
        }
    }
}

/// The counters a reply adds to, and their values (`counter_values`).
const USAGE_COUNTERS: &str = "input_tokens :i, output_tokens :o, cost :c, replies :one, \
     estimated_replies :e, cache_read_tokens :cr, cache_write_tokens :cw, cache_saved :cs";

fn counter_values(charge: &Charge) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (":i".to_string(), n(charge.input_tokens)),
        (":o".to_string(), n(charge.output_tokens)),
        (":c".to_string(), n(charge.cost.nanos())),
        (":one".to_string(), n(1)),
        (":e".to_string(), n(u8::from(charge.estimated))),
        (":cr".to_string(), n(charge.cache.read_tokens)),
        (":cw".to_string(), n(charge.cache.write_tokens)),
        (":cs".to_string(), n(charge.cache.saved.nanos())),
    ])
}

/// A send's limits as items of its transaction, and where each sits among them.
pub(super) struct LimitChecks {
    pub items: Vec<TransactWriteItem>,
    cap_at: Option<usize>,
    group_at: Vec<(usize, crate::groups::GroupId)>,
    rate_at: Option<usize>,
}

impl LimitChecks {
    /// The limit that cancelled the transaction, if one did: `failed` says which of its
    /// items' conditions failed, by position, and these items start at position `first`.
    pub fn refusal(&self, first: usize, failed: impl Fn(usize) -> bool) -> Option<StoreError> {
        let failed = |at: usize| failed(first + at);
        if self.cap_at.is_some_and(&failed) {
            return Some(StoreError::SpendCapReached);
        }
        if let Some((_, group)) = self.group_at.iter().find(|(at, _)| failed(*at)) {
            return Some(StoreError::GroupCapReached(group.clone()));
        }
        self.rate_at
            .is_some_and(&failed)
            .then_some(StoreError::RateLimited)
    }
}

impl DynamoStore {
    /// The portal's settings item (the default spend cap, the API switch), if written.
    pub(super) async fn portal_settings(&self) -> StoreResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(SETTINGS_PK.into(), SPEND_CAP_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item)
    }

    /// The checks of `limits` as transaction items: each cap's total must be below it, and
    /// the send is counted against the rate. A cap of zero refuses every send, spent or not:
    /// a total not written yet would pass the transaction's check (`attribute_not_exists`),
    /// so it is refused here, before any.
    pub(super) fn limit_checks(
        &self,
        owner: &Username,
        limits: &SendLimits,
    ) -> StoreResult<LimitChecks> {
        let zero = crate::usage::Cost::ZERO;
        if limits.spend_limit.is_some_and(|l| l.cap == zero) {
            return Err(StoreError::SpendCapReached);
        }
        if let Some(l) = limits.group_limits.iter().find(|l| l.cap == zero) {
            return Err(StoreError::GroupCapReached(l.group.clone()));
        }
        let mut checks = LimitChecks {
            items: Vec::new(),
            cap_at: None,
            group_at: Vec::new(),
            rate_at: None,
        };
        let below = |key, cap: crate::usage::Cost| {
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression("attribute_not_exists(cost) OR cost < :cap")
                .expression_attribute_values(":cap", n(cap.nanos()))
                .build()
                .expect("table, key and condition are set")
        };
        if let Some(limit) = limits.spend_limit {
            // The month's total stays below the cap until a reply's cost is added: sends
            // racing past this check are only those already in flight.
            let check = below(
                key(
                    user_pk(owner.as_str()),
                    usage_sk(limit.month, UsageKind::Total),
                ),
                limit.cap,
            );
            checks.cap_at = Some(checks.items.len());
            checks
                .items
                .push(TransactWriteItem::builder().condition_check(check).build());
        }
        // Each group's total likewise stays below its cap until replies' costs are added.
        for limit in &limits.group_limits {
            let check = below(group_spend_key(&limit.group, limit.month), limit.cap);
            checks
                .group_at
                .push((checks.items.len(), limit.group.clone()));
            checks
                .items
                .push(TransactWriteItem::builder().condition_check(check).build());
        }
        if let Some(rate) = limits.rate {
            let count = Update::builder()
                .table_name(&self.table)
                .set_key(Some(throttle_key(
                    &ThrottleKey::Sends(owner.as_str().to_string()),
                    rate.window_start,
                )))
                .update_expression("ADD sends :one SET expires_at = :expires")
                .condition_expression("attribute_not_exists(sends) OR sends < :limit")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":expires", n(rate.expires_at()))
                .expression_attribute_values(":limit", n(rate.limit))
                .build()
                .expect("table, key and expression are set");
            checks.rate_at = Some(checks.items.len());
            checks
                .items
                .push(TransactWriteItem::builder().update(count).build());
        }
        Ok(checks)
    }
    /// The counters a reply's usage is added to, as atomic `ADD`s: the user's month, model and
    /// conversation, and each of its groups' month.
    pub(super) fn usage_updates(&self, owner: &Username, charge: &Charge) -> Vec<Update> {
        let mut updates = self.user_usage_updates(owner, charge);
        updates.push(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    model_spend_pk(charge.month),
                    charge.model.clone(),
                )))
                .update_expression(format!("ADD {USAGE_COUNTERS}"))
                .set_expression_attribute_values(Some(counter_values(charge)))
                .build()
                .expect("table, key and expression are set"),
        );
        for group in charge.groups.iter().take(crate::groups::MAX_COUNTED_GROUPS) {
            updates.push(
                Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(group_spend_key(group, charge.month)))
                    .update_expression("ADD cost :c, replies :one")
                    .expression_attribute_values(":c", n(charge.cost.nanos()))
                    .expression_attribute_values(":one", n(1))
                    .build()
                    .expect("table, key and expression are set"),
            );
        }
        updates
    }

    fn user_usage_updates(&self, owner: &Username, charge: &Charge) -> Vec<Update> {
        let pk = user_pk(owner.as_str());
        let kinds = [
            UsageKind::Total,
            UsageKind::Model(&charge.model),
            UsageKind::Conversation(&charge.conversation),
            UsageKind::Day(charge.day),
        ];
        kinds
            .into_iter()
            .map(|kind| {
                let mut set = "SET label = :label".to_string();
                let label = match kind {
                    UsageKind::Total => "",
                    UsageKind::Model(id) => id,
                    UsageKind::Conversation(_) => &charge.title,
                    UsageKind::Day(_) => "",
                };
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk.clone(), usage_sk(charge.month, kind))))
                    .set_expression_attribute_values(Some(counter_values(charge)))
                    .expression_attribute_values(":label", s(label));
                // The month's total is also listed by month for the admin's spend view.
                let update = if let UsageKind::Total = kind {
                    set.push_str(", GSI1PK = :spend, GSI1SK = :user");
                    update
                        .expression_attribute_values(":spend", s(spend_pk(charge.month)))
                        .expression_attribute_values(":user", s(owner.as_str()))
                } else {
                    update
                };
                update
                    .update_expression(format!("{set} ADD {USAGE_COUNTERS}"))
                    .build()
                    .expect("table, key and expression are set")
            })
            .collect()
    }
}

impl UsageStore for DynamoStore {
    async fn reserve_send(&self, owner: &Username, limits: &SendLimits) -> StoreResult<()> {
        let checks = self.limit_checks(owner, limits)?;
        // After the account's check.
        let limits_at = 1;
        let mut write = self
            .client
            .transact_write_items()
            .transact_items(self.account_is_live(owner));
        for item in checks.items.iter().cloned() {
            write = write.transact_items(item);
        }
        if checks.items.is_empty() {
            // Nothing to check or count (the caller read the account just before).
            return Ok(());
        }
        let Err(err) = write.send().await else {
            return Ok(());
        };
        let Some(failed) = condition_failures(&err) else {
            return Err(backend(err));
        };
        if failed(0) {
            return Err(StoreError::NotFound);
        }
        Err(checks
            .refusal(limits_at, &failed)
            .unwrap_or_else(|| backend(err)))
    }

    async fn record_usage(&self, owner: &Username, charge: &Charge) -> StoreResult<()> {
        let mut write = self
            .client
            .transact_write_items()
            .transact_items(self.account_is_live(owner));
        for update in self.usage_updates(owner, charge) {
            write = write.transact_items(TransactWriteItem::builder().update(update).build());
        }
        let Err(err) = write.send().await else {
            return Ok(());
        };
        match condition_failures(&err) {
            Some(failed) if failed(0) => Err(StoreError::NotFound),
            _ => Err(backend(err)),
        }
    }

    async fn usage(&self, owner: &Username, month: Month) -> StoreResult<UsageReport> {
        let prefix = usage_prefix(month);
        let mut report = UsageReport::default();
        let mut start = None;
        for _ in 0..USAGE_READ_BUDGET {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(user_pk(owner.as_str())))
                .expression_attribute_values(":prefix", s(&prefix))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                let item: UsageItem = from_item(item)?;
                let rest = &item.sk[prefix.len()..];
                let line = |id: &str| UsageLine {
                    id: id.to_string(),
                    label: item.label.clone(),
                    totals: item.totals(),
                };
                if rest == "T" {
                    report.total = item.totals();
                } else if let Some(id) = rest.strip_prefix("M#") {
                    report.by_model.push(line(id));
                } else if let Some(id) = rest.strip_prefix("C#") {
                    report.by_conversation.push(line(id));
                } else if let Some(day) = rest.strip_prefix("D#").and_then(|d| d.parse().ok()) {
                    report.by_day.push((day, item.totals()));
                } else {
                    return Err(StoreError::Corrupt(format!("usage item {}", item.sk)));
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(report.sorted())
    }

    async fn spend_between(
        &self,
        month: Month,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<(String, Totals)>> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(table::ACCOUNTS_INDEX)
                .expression_attribute_values(":pk", s(spend_pk(month)))
                .expression_attribute_values(":last", s(last))
                .set_exclusive_start_key(start);
            // DynamoDB refuses an empty string in a key condition: no `first` means no bound.
            let query = if first.is_empty() {
                query.key_condition_expression("GSI1PK = :pk AND GSI1SK <= :last")
            } else {
                query
                    .key_condition_expression("GSI1PK = :pk AND GSI1SK BETWEEN :first AND :last")
                    .expression_attribute_values(":first", s(first))
            };
            let output = query.send().await.map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                let item: UsageItem = from_item(item)?;
                found.push((item.username.clone(), item.totals()));
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    async fn model_spend(&self, month: Month) -> StoreResult<Vec<(String, Totals)>> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(model_spend_pk(month)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                let item: UsageItem = from_item(item)?;
                found.push((item.sk.clone(), item.totals()));
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    async fn default_spend_cap(&self) -> StoreResult<Option<Cost>> {
        Ok(self
            .portal_settings()
            .await?
            .as_ref()
            .and_then(spend_cap_from_item))
    }

    async fn set_default_spend_cap(&self, cap: Option<Cost>) -> StoreResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(SETTINGS_PK.into(), SPEND_CAP_SK)));
        let update = match cap {
            Some(cap) => update
                .update_expression("SET cap = :cap")
                .expression_attribute_values(":cap", n(cap.nanos())),
            None => update.update_expression("REMOVE cap"),
        };
        update.send().await.map_err(backend)?;
        Ok(())
    }
}
