//! The groups capability: every group's definition, kept as one value with a version, so it
//! is read with the account in a signed-in request's one read, and saved only over the
//! version it was read at.

use super::*;
use crate::groups::{Group, GroupId, Groups};

#[allow(async_fn_in_trait)]
pub trait GroupStore {
    /// Every group, and the version they were saved at (0 before any save).
    async fn groups(&self) -> StoreResult<Groups>;
    /// Replaces every group's definition with `list`, if they are still at `read_version`
    /// (`Conflict` if someone saved since); returns the new version.
    async fn save_groups(&self, list: &[Group], read_version: u64) -> StoreResult<u64>;
    /// What each of `groups` has spent in `month` (replies counted in it).
    async fn group_spend(
        &self,
        groups: &[GroupId],
        month: Month,
    ) -> StoreResult<Vec<(GroupId, Cost)>>;
}

impl GroupStore for Store {
    async fn groups(&self) -> StoreResult<Groups> {
        delegate!(self, s => s.groups())
    }
    async fn save_groups(&self, list: &[Group], read_version: u64) -> StoreResult<u64> {
        delegate!(self, s => s.save_groups(list, read_version))
    }
    async fn group_spend(
        &self,
        groups: &[GroupId],
        month: Month,
    ) -> StoreResult<Vec<(GroupId, Cost)>> {
        delegate!(self, s => s.group_spend(groups, month))
    }
}

/// Groups as both backends keep them: a JSON array.
pub(crate) fn groups_from_json(json: &str, version: u64) -> StoreResult<Groups> {
    let list: Vec<Group> =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("groups: {e}")))?;
    Ok(Groups { list, version })
}

pub(crate) fn groups_to_json(list: &[Group]) -> StoreResult<String> {
    serde_json::to_string(list).map_err(StoreError::backend)
}
