//! The transfer capability: whole accounts' transcripts out (export) and in (import).

use super::*;

/// A conversation with all its messages, oldest first: what an export holds.
pub type Transcript = (Conversation, Vec<Message>);

#[allow(async_fn_in_trait)]
pub trait TransferStore {
    /// Every conversation of the owner with all its messages, in id order.
    async fn export_conversations(&self, owner: &Username) -> StoreResult<Vec<Transcript>>;
    /// Adds the transcripts whose conversation ids the owner does not have yet, all of them or
    /// (on any failure) none, and returns how many were added; those already there are left
    /// as they are, so importing the same export twice adds nothing the second time.
    async fn import_conversations(
        &self,
        owner: &Username,
        transcripts: &[Transcript],
    ) -> StoreResult<usize>;
}

impl TransferStore for Store {
    async fn export_conversations(&self, owner: &Username) -> StoreResult<Vec<Transcript>> {
        delegate!(self, s => s.export_conversations(owner))
    }
    async fn import_conversations(
        &self,
        owner: &Username,
        transcripts: &[Transcript],
    ) -> StoreResult<usize> {
        delegate!(self, s => s.import_conversations(owner, transcripts))
    }
}
