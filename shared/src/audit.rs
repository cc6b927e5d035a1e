//! The audit log: who did what, to which account, when and from which address. Kept for a
//! configurable number of days (`SWITCHBOARD_AUDIT_DAYS`, DynamoDB's TTL in AWS). Never holds
//! passwords, tokens or message text: only names, the action, and a short detail.

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditAction {
    SignIn,
    SignInRefused,
    SignInThrottled,
    SingleSignOn,
    SingleSignOnRefused,
    SingleSignOnLinked,
    SignUp,
    PasswordChanged,
    SignedOutEverywhere,
    AccountDeleted,
    AccountCreated,
    PasswordReset,
    AccountDisabled,
    AccountEnabled,
    RoleChanged,
    SpendCapChanged,
    DefaultSpendCapChanged,
    InviteCreated,
    GroupCreated,
    GroupDeleted,
    GroupModelsChanged,
    GroupCapsChanged,
    GroupMemberAdded,
    GroupMemberRemoved,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiSwitched,
}

impl AuditAction {
    pub const ALL: &[Self] = &[
        Self::SignIn,
        Self::SignInRefused,
        Self::SignInThrottled,
        Self::SingleSignOn,
        Self::SingleSignOnRefused,
        Self::SingleSignOnLinked,
        Self::SignUp,
        Self::PasswordChanged,
        Self::SignedOutEverywhere,
        Self::AccountDeleted,
        Self::AccountCreated,
        Self::PasswordReset,
        Self::AccountDisabled,
        Self::AccountEnabled,
        Self::RoleChanged,
        Self::SpendCapChanged,
        Self::DefaultSpendCapChanged,
        Self::InviteCreated,
        Self::GroupCreated,
        Self::GroupDeleted,
        Self::GroupModelsChanged,
        Self::GroupCapsChanged,
        Self::GroupMemberAdded,
        Self::GroupMemberRemoved,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::ApiSwitched,
    ];

    /// The name it is stored and filtered by.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::SignInRefused => "sign-in-refused",
            Self::SignInThrottled => "sign-in-throttled",
            Self::SingleSignOn => "single-sign-on",
            Self::SingleSignOnRefused => "single-sign-on-refused",
            Self::SingleSignOnLinked => "single-sign-on-linked",
            Self::SignUp => "sign-up",
            Self::PasswordChanged => "password-changed",
            Self::SignedOutEverywhere => "signed-out-everywhere",
            Self::AccountDeleted => "account-deleted",
            Self::AccountCreated => "account-created",
            Self::PasswordReset => "password-reset",
            Self::AccountDisabled => "account-disabled",
            Self::AccountEnabled => "account-enabled",
            Self::RoleChanged => "role-changed",
            Self::SpendCapChanged => "spend-cap-changed",
            Self::DefaultSpendCapChanged => "default-spend-cap-changed",
            Self::InviteCreated => "invite-created",
            Self::GroupCreated => "group-created",
            Self::GroupDeleted => "group-deleted",
            Self::GroupModelsChanged => "group-models-changed",
            Self::GroupCapsChanged => "group-caps-changed",
            Self::GroupMemberAdded => "group-member-added",
            Self::GroupMemberRemoved => "group-member-removed",
            Self::ApiKeyCreated => "api-key-created",
            Self::ApiKeyRevoked => "api-key-revoked",
            Self::ApiSwitched => "api-switched",
        }
    }

    /// As the admin page shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::SignIn => "Signed in",
            Self::SignInRefused => "Sign-in refused",
            Self::SignInThrottled => "Sign-in throttled",
            Self::SingleSignOn => "Signed in with single sign-on",
            Self::SingleSignOnRefused => "Single sign-on refused",
            Self::SingleSignOnLinked => "Linked to single sign-on",
            Self::SignUp => "Signed up",
            Self::PasswordChanged => "Changed password",
            Self::SignedOutEverywhere => "Signed out everywhere",
            Self::AccountDeleted => "Deleted account",
            Self::AccountCreated => "Created account",
            Self::PasswordReset => "Reset password",
            Self::AccountDisabled => "Disabled account",
            Self::AccountEnabled => "Enabled account",
            Self::RoleChanged => "Changed role",
            Self::SpendCapChanged => "Changed spend cap",
            Self::DefaultSpendCapChanged => "Changed default spend cap",
            Self::InviteCreated => "Created invite",
            Self::GroupCreated => "Created group",
            Self::GroupDeleted => "Deleted group",
            Self::GroupModelsChanged => "Changed a group's models",
            Self::GroupCapsChanged => "Changed a group's caps",
            Self::GroupMemberAdded => "Added to group",
            Self::GroupMemberRemoved => "Removed from group",
            Self::ApiKeyCreated => "Created an API key",
            Self::ApiKeyRevoked => "Revoked an API key",
            Self::ApiSwitched => "Turned the API on or off",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == name)
    }
}

/// The most characters a name or a detail keeps: enough to read, too few to smuggle a secret
/// of any size or flood the table.
pub const MAX_NAME: usize = 64;
pub const MAX_DETAIL: usize = 200;

/// One entry. `id` orders entries as they were recorded: `<seconds, 12 digits>.<microseconds,
/// 6>#<random>` of the clock when the entry is made (a request's `at` is when it began, so two
/// requests of one second could otherwise swap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    pub at: u64,
    /// Who did it: the signed-in account, or none (a sign-in that failed).
    pub actor: Option<String>,
    pub action: AuditAction,
    /// The account it was done to, or the name a sign-in was attempted with.
    pub subject: Option<String>,
    pub address: String,
    pub detail: String,
    /// When the store may forget it (seconds).
    pub expires_at: u64,
}

impl AuditEntry {
    pub fn new(action: AuditAction, at: u64, address: &str, keep_days: u32) -> Self {
        Self {
            id: Self::next_id(),
            at,
            actor: None,
            action,
            subject: None,
            address: bounded(address, MAX_NAME),
            detail: String::new(),
            expires_at: at + u64::from(keep_days) * 86_400,
        }
    }

    fn next_id() -> String {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        format!(
            "{:012}.{:06}#{}",
            clock.as_secs(),
            clock.subsec_micros(),
            crate::random::token::<6>()
        )
    }

    pub fn by(mut self, actor: &str) -> Self {
        self.actor = Some(bounded(actor, MAX_NAME)).filter(|a| !a.is_empty());
        self
    }

    pub fn on(mut self, subject: &str) -> Self {
        self.subject = Some(bounded(subject, MAX_NAME)).filter(|s| !s.is_empty());
        self
    }

    pub fn detail(mut self, detail: &str) -> Self {
        self.detail = bounded(detail, MAX_DETAIL);
        self
    }
}

/// Printable text, one line, at most `max` characters.
fn bounded(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Which entries to list: by a name (who did it, or to whom), by action.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub who: Option<String>,
    pub action: Option<AuditAction>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_bounded_printable_and_ordered_by_time() {
        let entry = AuditEntry::new(AuditAction::SignInRefused, 1_800_000_000, "10.0.0.1", 30)
            .on(&format!("evil\n{}", "x".repeat(100)))
            .detail(&"d".repeat(500));
        let subject = entry.subject.clone().unwrap();
        assert_eq!(subject.chars().count(), MAX_NAME);
        assert!(!subject.contains('\n'));
        assert_eq!(entry.detail.len(), MAX_DETAIL);
        assert_eq!(entry.expires_at, 1_800_000_000 + 30 * 86_400);
        let later = AuditEntry::new(AuditAction::SignIn, 1_700_000_000, "", 30);
        assert!(
            later.id > entry.id,
            "recorded later, listed later, whatever its time"
        );
    }

    #[test]
    fn actions_round_trip_by_name() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
        }
        assert_eq!(AuditAction::parse("drop-table"), None);
    }
}
