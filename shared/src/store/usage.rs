//! The usage capability: replies' tokens and costs by month, and spend caps.

use super::*;

#[allow(async_fn_in_trait)]
pub trait UsageStore {
    /// Adds a reply's usage to the owner's totals for its month (overall, its model's and its
    /// conversation's), atomically.
    async fn record_usage(&self, owner: &Username, charge: &Charge) -> StoreResult<()>;
    /// Checks a send that writes no conversation (an API call) against `limits` and counts
    /// it against the rate, atomically, as a turn's write does: `SpendCapReached`,
    /// `GroupCapReached` or `RateLimited` if refused (nothing counted), `NotFound` if the
    /// account is gone or going.
    async fn reserve_send(&self, owner: &Username, limits: &SendLimits) -> StoreResult<()>;
    /// The owner's usage in `month`.
    async fn usage(&self, owner: &Username, month: Month) -> StoreResult<UsageReport>;
    /// Every account's totals in `month` whose username lies between `first` and `last`
    /// (inclusive), in username order; accounts that used nothing are left out.
    async fn spend_between(
        &self,
        month: Month,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<(String, Totals)>>;
    /// Every model's totals in `month`, over all accounts, by model id.
    async fn model_spend(&self, month: Month) -> StoreResult<Vec<(String, Totals)>>;
    /// The cap for accounts without their own.
    async fn default_spend_cap(&self) -> StoreResult<Option<Cost>>;
    async fn set_default_spend_cap(&self, cap: Option<Cost>) -> StoreResult<()>;
}

impl UsageStore for Store {
    async fn record_usage(&self, owner: &Username, charge: &Charge) -> StoreResult<()> {
        delegate!(self, s => s.record_usage(owner, charge))
    }
    async fn reserve_send(&self, owner: &Username, limits: &SendLimits) -> StoreResult<()> {
        delegate!(self, s => s.reserve_send(owner, limits))
    }
    async fn usage(&self, owner: &Username, month: Month) -> StoreResult<UsageReport> {
        delegate!(self, s => s.usage(owner, month))
    }
    async fn spend_between(
        &self,
        month: Month,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<(String, Totals)>> {
        delegate!(self, s => s.spend_between(month, first, last))
    }
    async fn model_spend(&self, month: Month) -> StoreResult<Vec<(String, Totals)>> {
        delegate!(self, s => s.model_spend(month))
    }
    async fn default_spend_cap(&self) -> StoreResult<Option<Cost>> {
        delegate!(self, s => s.default_spend_cap())
    }
    async fn set_default_spend_cap(&self, cap: Option<Cost>) -> StoreResult<()> {
        delegate!(self, s => s.set_default_spend_cap(cap))
    }
}
