//! The audit log: one row per entry; expired rows are cleared as new ones are written.

use super::*;

impl AuditStore for SqliteStore {
    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let r = AuditRecord::from_entry(entry);
        self.with(|conn| {
            conn.execute("DELETE FROM audit WHERE expires_at <= ?1", [r.at as i64])
                .map_err(backend)?;
            conn.execute(
                "INSERT INTO audit (id, at, actor, action, subject, address, detail, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    r.id,
                    r.at as i64,
                    r.actor,
                    r.action,
                    r.subject,
                    r.address,
                    r.detail,
                    r.expires_at as i64
                ],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        before: Option<&str>,
        limit: usize,
        now: u64,
    ) -> StoreResult<Page<AuditEntry>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, at, actor, action, subject, address, detail, expires_at \
                     FROM audit WHERE id < ?1 AND expires_at > ?2 \
                     AND (?3 IS NULL OR actor = ?3 OR subject = ?3) \
                     AND (?4 IS NULL OR action = ?4) \
                     ORDER BY id DESC LIMIT ?5",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![
                        // Every id sorts before `~`.
                        before.unwrap_or("~"),
                        now as i64,
                        filter.who,
                        filter.action.map(|a| a.as_str()),
                        (limit + 1) as i64
                    ],
                    |row| {
                        Ok(AuditRecord {
                            id: row.get(0)?,
                            at: row.get::<_, i64>(1)? as u64,
                            actor: row.get(2)?,
                            action: row.get(3)?,
                            subject: row.get(4)?,
                            address: row.get(5)?,
                            detail: row.get(6)?,
                            expires_at: row.get::<_, i64>(7)? as u64,
                        })
                    },
                )
                .map_err(backend)?;
            let mut items = Vec::new();
            for row in rows {
                items.push(row.map_err(backend)?.into_entry()?);
            }
            Ok(Page::of_audit(items, limit))
        })
    }
}
