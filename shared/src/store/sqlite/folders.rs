//! Folders: one row per folder; a conversation filed in one names it in its `folder` column.

use super::*;
use crate::folders::{self, Folder, FolderId};
use crate::store::{ActivityCursor, FolderRecord, FolderStore, Page};

const COLUMNS: &str = "id, name, model, system, created_at";

fn folder_from_row(row: &Row) -> rusqlite::Result<FolderRecord> {
    Ok(FolderRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        model: row.get(2)?,
        system: row.get(3)?,
        created_at: row.get::<_, i64>(4)? as u64,
    })
}

fn folder_exists(conn: &Connection, owner: &Username, id: &FolderId) -> StoreResult<bool> {
    conn.query_row(
        "SELECT 1 FROM folders WHERE owner = ?1 AND id = ?2",
        params![owner.as_str(), id.as_str()],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(backend)
}

impl FolderStore for SqliteStore {
    async fn create_folder(&self, owner: &Username, folder: &Folder) -> StoreResult<()> {
        let r = FolderRecord::new(folder);
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_live_account(&tx, owner)?;
            tx.execute(
                &format!("INSERT INTO folders (owner, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    owner.as_str(),
                    r.id,
                    r.name,
                    r.model,
                    r.system,
                    r.created_at as i64
                ],
            )
            // A taken key is a `Conflict` (`backend` says so).
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    async fn folders(&self, owner: &Username) -> StoreResult<Vec<Folder>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!("SELECT {COLUMNS} FROM folders WHERE owner = ?1"))
                .map_err(backend)?;
            let rows = stmt
                .query_map([owner.as_str()], folder_from_row)
                .map_err(backend)?;
            let mut list = collect(rows, FolderRecord::into_folder)?;
            folders::sort(&mut list);
            Ok(list)
        })
    }

    async fn folder(&self, owner: &Username, id: &FolderId) -> StoreResult<Option<Folder>> {
        self.with(|conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM folders WHERE owner = ?1 AND id = ?2"),
                params![owner.as_str(), id.as_str()],
                folder_from_row,
            )
            .optional()
            .map_err(backend)?
            .map(FolderRecord::into_folder)
            .transpose()
        })
    }

    async fn update_folder(&self, owner: &Username, folder: &Folder) -> StoreResult<()> {
        let r = FolderRecord::new(folder);
        self.with(|conn| {
            let changed = conn
                .execute(
                    "UPDATE folders SET name = ?3, model = ?4, system = ?5 \
                     WHERE owner = ?1 AND id = ?2",
                    params![owner.as_str(), r.id, r.name, r.model, r.system],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    async fn delete_folder(&self, owner: &Username, id: &FolderId) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let changed = tx
                .execute(
                    "DELETE FROM folders WHERE owner = ?1 AND id = ?2",
                    params![owner.as_str(), id.as_str()],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "UPDATE conversations SET folder = NULL WHERE owner = ?1 AND folder = ?2",
                params![owner.as_str(), id.as_str()],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    async fn file_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        folder: Option<&FolderId>,
    ) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            if let Some(folder) = folder
                && !folder_exists(&tx, owner, folder)?
            {
                return Err(StoreError::NotFound);
            }
            let changed = tx
                .execute(
                    "UPDATE conversations SET folder = ?3, shelf = NULL \
                     WHERE owner = ?1 AND id = ?2 AND temporary = 0",
                    params![owner.as_str(), id.as_str(), folder.map(FolderId::as_str)],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().map_err(backend)
        })
    }

    async fn list_folder(
        &self,
        owner: &Username,
        folder: &FolderId,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        let (updated, id) = after.map_or((i64::MAX, "~"), |c| (c.updated_at as i64, c.id.as_str()));
        self.with(|conn| {
            super::conversations::clear_expired(conn, owner, crate::session::now())?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations \
                     WHERE owner = ?1 AND temporary = 0 AND shelf IS NULL AND folder = ?5 \
                     AND (updated_at < ?2 OR (updated_at = ?2 AND id < ?3)) \
                     ORDER BY updated_at DESC, id DESC LIMIT ?4"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![
                        owner.as_str(),
                        updated,
                        id,
                        (limit + 1) as i64,
                        folder.as_str()
                    ],
                    conversation_from_row,
                )
                .map_err(backend)?;
            let items = collect(rows, ConversationRecord::into_conversation)?;
            Ok(Page::of_conversations(items, limit))
        })
    }
}
