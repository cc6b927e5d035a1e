//! The audit log: one partition, `AUDIT`, sorted by entry id (time first), read newest first
//! with the filter applied by DynamoDB; entries expire by the table's TTL.

use super::*;

/// The partition every entry lives in. Audit entries are written at human pace (sign-ins,
/// admin actions), far below one partition's thousand writes a second.
const AUDIT_PK: &str = "AUDIT";
/// Items read per query page, and the most pages one listing reads (a filter that matches
/// rarely then returns a short page and where to go on, rather than reading the whole log).
const READ_PAGE: i32 = 200;
const MAX_READ_PAGES: usize = 25;

#[derive(Serialize, Deserialize)]
struct AuditItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    record: AuditRecord,
}

impl AuditStore for DynamoStore {
    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let item = to_item(&AuditItem {
            pk: AUDIT_PK.into(),
            sk: entry.id.clone(),
            record: AuditRecord::from_entry(entry),
        })?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        before: Option<&str>,
        limit: usize,
        now: u64,
    ) -> StoreResult<Page<AuditEntry>> {
        let mut conditions = vec!["expires_at > :now"];
        if filter.who.is_some() {
            conditions.push("(actor = :who OR subject = :who)");
        }
        if filter.action.is_some() {
            conditions.push("#action = :action");
        }
        let mut items = Vec::new();
        let mut start: Option<Item> = before.map(|id| key(AUDIT_PK.into(), id));
        for _ in 0..MAX_READ_PAGES {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :audit")
                .expression_attribute_values(":audit", s(AUDIT_PK))
                .expression_attribute_values(":now", n(now))
                .filter_expression(conditions.join(" AND "))
                .scan_index_forward(false)
                .limit(READ_PAGE)
                .set_exclusive_start_key(start.take());
            if let Some(who) = &filter.who {
                query = query.expression_attribute_values(":who", s(who));
            }
            if let Some(action) = filter.action {
                query = query
                    .expression_attribute_names("#action", "action")
                    .expression_attribute_values(":action", s(action.as_str()));
            }
            let output = query.send().await.map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                items.push(from_item::<AuditItem>(item)?.record.into_entry()?);
            }
            start = output.last_evaluated_key;
            if items.len() > limit || start.is_none() {
                break;
            }
        }
        let mut page = Page::of_audit(items, limit);
        // Read as far as allowed without filling the page: go on from where reading stopped.
        if page.next.is_none()
            && let Some(stopped) = start
        {
            page.next = stopped
                .get(table::SORT_KEY)
                .and_then(|v| v.as_s().ok())
                .cloned();
        }
        Ok(page)
    }
}
