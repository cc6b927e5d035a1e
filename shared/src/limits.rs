//! The limits a user's sends are checked against (spend caps, the send rate, the models they
//! may use), however the send arrives: a conversation page or the API. The store checks them
//! atomically with the send (`TurnWrite`, `UsageStore::reserve_send`); a refusal is told in
//! the same words everywhere.

use lambda_http::http::StatusCode;

use crate::accounts::Account;
use crate::config::Config;
use crate::groups::{Group, GroupId, MAX_COUNTED_GROUPS, ModelAccess};
use crate::store::StoreError;
use crate::usage::{Cost, GroupLimit, Month, SendRate, SpendLimit};

/// Sends are counted per minute.
pub const RATE_WINDOW_SECONDS: u64 = 60;

/// What one send is checked against, as the store checks it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendLimits {
    /// Refused (`SpendCapReached`) once the owner's spend this month has reached the cap.
    pub spend_limit: Option<SpendLimit>,
    /// Refused (`GroupCapReached`) once one of these groups' spend this month has reached
    /// its cap.
    pub group_limits: Vec<GroupLimit>,
    /// Counted against the owner's rate, refused (`RateLimited`) past it.
    pub rate: Option<SendRate>,
}

/// The limits that apply to one account.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The lowest of the account's own cap (else the portal's default) and its groups'
    /// per-member caps.
    pub spend_cap: Option<Cost>,
    /// The group whose per-member cap `spend_cap` is, when it is one.
    pub spend_cap_group: Option<String>,
    pub sends_per_minute: Option<u32>,
    /// The models the account may use.
    pub access: ModelAccess,
    /// The account's groups: their monthly caps apply to its sends, and its replies count
    /// in their totals.
    pub groups: Vec<Group>,
    /// How many days its conversations are kept after their last activity.
    pub retention_days: Option<u32>,
}

impl Limits {
    /// The caps that apply to `account` (its own, else `default_cap`; its groups' per-member
    /// and whole-group caps), the configured send rate, and the models its groups allow.
    pub fn of(
        config: &Config,
        account: &Account,
        default_cap: Option<Cost>,
        groups: Vec<Group>,
    ) -> Self {
        let mut spend_cap = account.spend_cap.or(default_cap);
        let mut spend_cap_group = None;
        for group in &groups {
            if let Some(cap) = group.member_cap
                && spend_cap.is_none_or(|current| cap < current)
            {
                spend_cap = Some(cap);
                spend_cap_group = Some(group.name.as_str().to_string());
            }
        }
        Self {
            spend_cap,
            spend_cap_group,
            sends_per_minute: config.sends_per_minute,
            access: ModelAccess::of(&groups.iter().collect::<Vec<_>>(), &config.default_models),
            retention_days: crate::groups::retention_days(config.retention_days, &groups),
            groups,
        }
    }

    /// What a send at `now` is checked against.
    pub fn for_send(&self, now: u64) -> SendLimits {
        SendLimits {
            spend_limit: self.spend_cap.map(|cap| SpendLimit {
                month: Month::of(now),
                cap,
            }),
            group_limits: self
                .groups
                .iter()
                .filter_map(|g| {
                    Some(GroupLimit {
                        group: g.id.clone(),
                        month: Month::of(now),
                        cap: g.monthly_cap?,
                    })
                })
                .collect(),
            rate: self
                .sends_per_minute
                .map(|limit| SendRate::at(now, RATE_WINDOW_SECONDS, limit)),
        }
    }

    /// The groups a reply's cost counts in.
    pub fn counted_groups(&self) -> Vec<GroupId> {
        self.groups
            .iter()
            .take(MAX_COUNTED_GROUPS)
            .map(|g| g.id.clone())
            .collect()
    }

    /// What the sender is told when the store refused a send at `now` for a limit: the
    /// status (403 for a cap, 429 for the rate) and plain words; `None` for any other error.
    pub fn refusal(&self, err: &StoreError, now: u64) -> Option<Refusal> {
        let refusal = match err {
            StoreError::SpendCapReached => Refusal {
                kind: RefusalKind::SpendCap,
                message: format!(
                    "You have reached your spending cap for {} ({}{}). Ask your administrator \
                     to raise it, or wait for the next month (UTC). Nothing was sent.",
                    Month::of(now).name(),
                    self.spend_cap.unwrap_or_default().dollars(),
                    self.spend_cap_group
                        .as_ref()
                        .map(|g| format!(", each member's cap in {g}"))
                        .unwrap_or_default(),
                ),
            },
            StoreError::GroupCapReached(id) => {
                let group = self.groups.iter().find(|g| g.id == *id);
                Refusal {
                    kind: RefusalKind::GroupCap,
                    message: format!(
                        "Your group {} has reached its spending cap for {} ({}). Ask your \
                         administrator to raise it, or wait for the next month (UTC). Nothing \
                         was sent.",
                        group.map_or("", |g| g.name.as_str()),
                        Month::of(now).name(),
                        group
                            .and_then(|g| g.monthly_cap)
                            .unwrap_or_default()
                            .dollars(),
                    ),
                }
            }
            StoreError::RateLimited => {
                let rate = SendRate::at(
                    now,
                    RATE_WINDOW_SECONDS,
                    self.sends_per_minute.unwrap_or_default(),
                );
                Refusal {
                    kind: RefusalKind::Rate {
                        retry_after: rate.expires_at() - now,
                    },
                    message: format!(
                        "You are sending messages too quickly: at most {} a minute. Wait {} \
                         seconds and try again. Nothing was sent.",
                        rate.limit,
                        rate.expires_at() - now,
                    ),
                }
            }
            _ => return None,
        };
        Some(refusal)
    }
}

/// Which limit refused a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    SpendCap,
    GroupCap,
    /// The send rate; the window ends in `retry_after` seconds.
    Rate {
        retry_after: u64,
    },
}

/// A send refused for a limit, in words for the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self.kind {
            RefusalKind::SpendCap | RefusalKind::GroupCap => StatusCode::FORBIDDEN,
            RefusalKind::Rate { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}
