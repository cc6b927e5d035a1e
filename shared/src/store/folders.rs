//! The folders capability: each user's folders, and the conversations filed in them.

use super::*;
use crate::folders::{Folder, FolderId, FolderName};

/// A folder as both backends keep it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct FolderRecord {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub created_at: u64,
}

impl FolderRecord {
    pub fn new(folder: &Folder) -> Self {
        Self {
            id: folder.id.as_str().to_string(),
            name: folder.name.as_str().to_string(),
            model: folder.model.clone(),
            system: folder.system.clone(),
            created_at: folder.created_at,
        }
    }

    pub fn into_folder(self) -> StoreResult<Folder> {
        Ok(Folder {
            id: FolderId::parse(&self.id)
                .ok_or_else(|| StoreError::Corrupt(format!("folder id {}", self.id)))?,
            name: FolderName::parse(&self.name)
                .map_err(|e| StoreError::Corrupt(format!("folder name: {e}")))?,
            model: self.model,
            system: self.system,
            created_at: self.created_at,
        })
    }
}

/// A conversation is on one list at a time: the recent one, a folder, pinned or archived.
/// Filing it in a folder takes it off the others; pinning or archiving it (or moving it back
/// to the recent list) takes it out of its folder.
#[allow(async_fn_in_trait)]
pub trait FolderStore {
    /// Keeps `owner`'s new folder: `NotFound` if the account is gone (or going).
    async fn create_folder(&self, owner: &Username, folder: &Folder) -> StoreResult<()>;
    /// The owner's folders, by name.
    async fn folders(&self, owner: &Username) -> StoreResult<Vec<Folder>>;
    /// One of the owner's folders; `None` if the owner has none with that id.
    async fn folder(&self, owner: &Username, id: &FolderId) -> StoreResult<Option<Folder>>;
    /// Replaces a folder's name, default model and system prompt: `NotFound` if there is none.
    async fn update_folder(&self, owner: &Username, folder: &Folder) -> StoreResult<()>;
    /// Deletes the folder; its conversations go back to the recent list. `NotFound` if there
    /// is none.
    async fn delete_folder(&self, owner: &Username, id: &FolderId) -> StoreResult<()>;
    /// Files the conversation in `folder` (off any other list), or (`None`) back on the
    /// recent list: `NotFound` if either is not the owner's (or the conversation is a
    /// temporary chat, which is never listed).
    async fn file_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        folder: Option<&FolderId>,
    ) -> StoreResult<()>;
    /// The conversations filed in the folder, most recent activity first, `limit` at a time.
    async fn list_folder(
        &self,
        owner: &Username,
        folder: &FolderId,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>>;
}

impl FolderStore for Store {
    async fn create_folder(&self, owner: &Username, folder: &Folder) -> StoreResult<()> {
        delegate!(self, s => s.create_folder(owner, folder))
    }
    async fn folders(&self, owner: &Username) -> StoreResult<Vec<Folder>> {
        delegate!(self, s => s.folders(owner))
    }
    async fn folder(&self, owner: &Username, id: &FolderId) -> StoreResult<Option<Folder>> {
        delegate!(self, s => s.folder(owner, id))
    }
    async fn update_folder(&self, owner: &Username, folder: &Folder) -> StoreResult<()> {
        delegate!(self, s => s.update_folder(owner, folder))
    }
    async fn delete_folder(&self, owner: &Username, id: &FolderId) -> StoreResult<()> {
        delegate!(self, s => s.delete_folder(owner, id))
    }
    async fn file_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        folder: Option<&FolderId>,
    ) -> StoreResult<()> {
        delegate!(self, s => s.file_conversation(owner, id, folder))
    }
    async fn list_folder(
        &self,
        owner: &Username,
        folder: &FolderId,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        delegate!(self, s => s.list_folder(owner, folder, after, limit))
    }
}
