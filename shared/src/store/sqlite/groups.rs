//! Groups: one row holding every group (JSON) and its version.

use super::*;

impl GroupStore for SqliteStore {
    async fn groups(&self) -> StoreResult<Groups> {
        self.with(|conn| read_groups(conn))
    }

    async fn save_groups(&self, list: &[Group], read_version: u64) -> StoreResult<u64> {
        let json = groups_to_json(list)?;
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            if read_groups(&tx)?.version != read_version {
                return Err(StoreError::Conflict);
            }
            let version = read_version + 1;
            tx.execute(
                "INSERT INTO portal_groups (singleton, groups, version) VALUES (1, ?1, ?2) \
                 ON CONFLICT (singleton) DO UPDATE SET groups = ?1, version = ?2",
                params![json, version as i64],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(version)
        })
    }

    async fn group_spend(
        &self,
        groups: &[GroupId],
        month: Month,
    ) -> StoreResult<Vec<(GroupId, Cost)>> {
        self.with(|conn| {
            groups
                .iter()
                .map(|g| Ok((g.clone(), group_month_spend(conn, g, month)?)))
                .collect()
        })
    }
}

/// A group's spend in `month`.
pub(super) fn group_month_spend(
    conn: &Connection,
    group: &GroupId,
    month: Month,
) -> StoreResult<Cost> {
    conn.query_row(
        "SELECT cost FROM group_spend WHERE group_id = ?1 AND month = ?2",
        params![group.as_str(), month.key()],
        |row| row.get::<_, i64>(0),
    )
    .optional()
    .map(|cost| Cost::from_nanos(cost.unwrap_or(0) as u64))
    .map_err(backend)
}

pub(super) fn read_groups(conn: &Connection) -> StoreResult<Groups> {
    let row: Option<(String, i64)> = conn
        .query_row(
            "SELECT groups, version FROM portal_groups WHERE singleton = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(backend)?;
    match row {
        Some((json, version)) => groups_from_json(&json, version as u64),
        None => Ok(Groups::default()),
    }
}
