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
