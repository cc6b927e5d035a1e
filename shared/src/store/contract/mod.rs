//! The behaviour every store must have. `contract_tests!` turns each check into a test for a
//! backend: the SQLite store runs them in its unit tests, DynamoDB in `tests/e2e` against
//! DynamoDB Local.

use super::{
    AccountStore, ActivityCursor, AuditStore, ConversationStore, Extras, GroupStore, IdentityStore,
    Invite, InviteStore, SessionStore, ShareStore, StoreError, ThrottleKey, ThrottleStore,
    TransferStore, TurnWrite, UsageStore,
};

use crate::accounts::{Account, AccountChange, Role};

use crate::conversations::{
    Conversation, ConversationId, MAX_REPLY_BYTES, Message, MessageState, MessageText, Shelf,
    Speaker, Title, new_turn_id,
};

use crate::password::PasswordDigest;

use crate::usage::{Charge, Cost, Month, SendRate, SpendLimit, Totals};

use crate::users::Username;

mod accounts;
mod api_keys;
mod audit;
mod conversations;
mod folders;
mod groups;
mod identities;
mod invites;
mod sessions;
mod shares;
mod throttle;
mod transfer;
mod usage;

pub use accounts::*;
pub use api_keys::*;
pub use audit::*;
pub use conversations::*;
pub use folders::*;
pub use groups::*;
pub use identities::*;
pub use invites::*;
pub use sessions::*;
pub use shares::*;
pub use throttle::*;
pub use transfer::*;
pub use usage::*;

/// A username no other test run has used: tests share one table between runs.
pub fn unique_name(prefix: &str) -> Username {
    let mut bytes = [0u8; 5];
    getrandom::fill(&mut bytes).unwrap();
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Username::parse(&format!("{prefix}-{suffix}")).unwrap()
}

pub(super) fn digest(n: u8) -> PasswordDigest {
    // Valid argon2id PHC strings; the contract never verifies them.
    let hash = format!("{n}{}", "A".repeat(42));
    PasswordDigest::parse(&format!(
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA${hash}"
    ))
    .unwrap()
}

/// A new account's username: everything a user owns is written under a live account.
pub async fn owner<S: AccountStore>(store: &S, prefix: &str) -> Username {
    let account = account(prefix);
    store.create_account(&account).await.unwrap();
    account.username
}

pub fn account(prefix: &str) -> Account {
    Account::new(
        unique_name(prefix),
        None,
        digest(1),
        Role::User,
        1_700_000_000,
    )
}

pub(super) fn conversation(title: &str, updated_at: u64) -> Conversation {
    let mut c = Conversation::new(
        Title::parse(title).unwrap(),
        "offline".into(),
        None,
        updated_at,
    );
    c.updated_at = updated_at;
    c
}

/// Sends `text` the way the chat function does: read, write the user's message and an empty
/// reply after the last message, and on a conflict read again and retry.
pub(super) async fn send<S: ConversationStore>(
    store: &S,
    owner: &crate::users::Username,
    id: &ConversationId,
    text: &str,
    now: u64,
) -> Message {
    send_within(store, owner, id, text, now, (None, None))
        .await
        .unwrap()
}

/// `send` with a spend limit and a send rate.
pub(super) async fn send_within<S: ConversationStore>(
    store: &S,
    owner: &crate::users::Username,
    id: &ConversationId,
    text: &str,
    now: u64,
    limits: (Option<SpendLimit>, Option<SendRate>),
) -> Result<Message, StoreError> {
    send_limited(store, owner, id, text, now, limits, &[]).await
}

/// `send_within`, also checked against groups' caps.
pub(super) async fn send_limited<S: ConversationStore>(
    store: &S,
    owner: &crate::users::Username,
    id: &ConversationId,
    text: &str,
    now: u64,
    limits: (Option<SpendLimit>, Option<SendRate>),
    group_limits: &[crate::usage::GroupLimit],
) -> Result<Message, StoreError> {
    let text = MessageText::parse(text).unwrap();
    for _ in 0..20 {
        let (c, _) = store.conversation(owner, id, 0).await.unwrap().unwrap();
        let turn = new_turn_id();
        let n = c.next_seq;
        let messages = [
            Message::user(n, &text, &turn, now),
            Message::pending_reply(n + 1, "offline", &turn, now),
        ];
        let write = TurnWrite {
            expected_next_seq: n,
            next_seq: n + 2,
            leaf: n + 2 - 1,
            model: "offline",
            messages: &messages,
            now,
            limits: crate::limits::SendLimits {
                spend_limit: limits.0,
                group_limits: group_limits.to_vec(),
                rate: limits.1,
            },
            expires_at: None,
        };
        match store.write_turn(owner, id, &write).await {
            Ok(()) => return Ok(messages[1].clone()),
            Err(StoreError::Conflict) => continue,
            Err(err) => return Err(err),
        }
    }
    panic!("no send got through in 20 tries")
}

pub(super) fn charge(
    conversation: &Conversation,
    model: &str,
    input: u32,
    output: u32,
    cost: u64,
) -> Charge {
    Charge {
        month: Month::of(conversation.created_at),
        conversation: conversation.id.as_str().to_string(),
        title: conversation.title.clone(),
        model: model.to_string(),
        input_tokens: input,
        output_tokens: output,
        cost: Cost::from_nanos(cost),
        estimated: model == "offline",
        cache: Default::default(),
        groups: Vec::new(),
        day: 1,
    }
}

pub(super) async fn search_is_empty<S: ConversationStore>(
    store: &S,
    owner: &crate::users::Username,
    query: &str,
) -> bool {
    store
        .search_conversations(owner, query, None, 10)
        .await
        .unwrap()
        .items
        .is_empty()
}

/// Generates one test per contract check. `$make` is an async block yielding a fresh store
/// handle; it is called twice for the race test, like two function processes.
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        #[tokio::test]
        async fn accounts_round_trip() {
            $crate::store::contract::accounts_round_trip(&$make.await).await;
        }
        #[tokio::test]
        async fn usernames_are_unique() {
            $crate::store::contract::usernames_are_unique(&$make.await).await;
        }
        #[tokio::test]
        async fn simultaneous_sign_ups_make_one_account() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::simultaneous_sign_ups_make_one_account(&a, &b).await;
        }
        #[tokio::test]
        async fn accounts_list_in_pages() {
            $crate::store::contract::accounts_list_in_pages(&$make.await).await;
        }
        #[tokio::test]
        async fn account_changes_apply_and_bump_the_epoch() {
            $crate::store::contract::account_changes_apply_and_bump_the_epoch(&$make.await).await;
        }
        #[tokio::test]
        async fn deleting_an_account_removes_it() {
            $crate::store::contract::deleting_an_account_removes_it(&$make.await).await;
        }
        #[tokio::test]
        async fn deleting_an_account_is_complete_and_resumable() {
            $crate::store::contract::deleting_an_account_is_complete_and_resumable(&$make.await)
                .await;
        }
        #[tokio::test]
        async fn simultaneous_imports_add_each_conversation_once() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::simultaneous_imports_add_each_conversation_once(&a, &b).await;
        }
        #[tokio::test]
        async fn invites_are_single_use_and_expire() {
            $crate::store::contract::invites_are_single_use_and_expire(&$make.await).await;
        }
        #[tokio::test]
        async fn a_taken_name_does_not_use_up_the_invite() {
            $crate::store::contract::a_taken_name_does_not_use_up_the_invite(&$make.await).await;
        }
        #[tokio::test]
        async fn throttle_reserves_up_to_the_limit_per_key_and_window() {
            $crate::store::contract::throttle_reserves_up_to_the_limit_per_key_and_window(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn signed_in_reads_the_account_and_whether_the_session_ended() {
            $crate::store::contract::signed_in_reads_the_account_and_whether_the_session_ended(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn conversations_belong_to_their_owner() {
            $crate::store::contract::conversations_belong_to_their_owner(&$make.await).await;
        }
        #[tokio::test]
        async fn a_title_is_replaced_only_if_unchanged() {
            $crate::store::contract::a_title_is_replaced_only_if_unchanged(&$make.await).await;
        }
        #[tokio::test]
        async fn turns_keep_order_and_refuse_stale_writes() {
            $crate::store::contract::turns_keep_order_and_refuse_stale_writes(&$make.await).await;
        }
        #[tokio::test]
        async fn concurrent_sends_lose_nothing() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::concurrent_sends_lose_nothing(&a, &b).await;
        }
        #[tokio::test]
        async fn api_keys_are_found_by_hash_listed_and_revoked() {
            $crate::store::contract::api_keys_are_found_by_hash_listed_and_revoked(&$make.await).await;
        }
        #[tokio::test]
        async fn conversations_keep_their_parameters() {
            $crate::store::contract::conversations_keep_their_parameters(&$make.await).await;
        }
        #[tokio::test]
        async fn messages_keep_their_attachments() {
            $crate::store::contract::messages_keep_their_attachments(&$make.await).await;
        }
        #[tokio::test]
        async fn replies_keep_their_thinking() {
            $crate::store::contract::replies_keep_their_thinking(&$make.await).await;
        }
        #[tokio::test]
        async fn history_reads_in_pages() {
            $crate::store::contract::history_reads_in_pages(&$make.await).await;
        }
        #[tokio::test]
        async fn conversations_list_by_recent_activity() {
            $crate::store::contract::conversations_list_by_recent_activity(&$make.await).await;
        }
        #[tokio::test]
        async fn search_finds_titles_and_message_text() {
            $crate::store::contract::search_finds_titles_and_message_text(&$make.await).await;
        }
        #[tokio::test]
        async fn deleting_a_conversation_removes_its_messages() {
            $crate::store::contract::deleting_a_conversation_removes_its_messages(&$make.await)
                .await;
        }
        #[tokio::test]
        async fn usage_adds_up_by_month_model_and_conversation() {
            $crate::store::contract::usage_adds_up_by_month_model_and_conversation(&$make.await)
                .await;
        }
        #[tokio::test]
        async fn usage_counts_what_the_cache_served_and_saved() {
            $crate::store::contract::usage_counts_what_the_cache_served_and_saved(&$make.await)
                .await;
        }
        #[tokio::test]
        async fn sends_stop_at_the_spend_cap() {
            $crate::store::contract::sends_stop_at_the_spend_cap(&$make.await).await;
        }
        #[tokio::test]
        async fn calls_without_a_conversation_are_held_to_the_same_limits() {
            $crate::store::contract::calls_without_a_conversation_are_held_to_the_same_limits(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn the_api_can_be_turned_off_for_the_portal() {
            $crate::store::contract::the_api_can_be_turned_off_for_the_portal(&$make.await).await;
        }
        #[tokio::test]
        async fn the_send_rate_counts_parallel_sends_exactly() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::the_send_rate_counts_parallel_sends_exactly(&a, &b).await;
        }
        #[tokio::test]
        async fn spend_caps_are_kept() {
            $crate::store::contract::spend_caps_are_kept(&$make.await).await;
        }
        #[tokio::test]
        async fn exports_hold_everything_and_imports_add_each_conversation_once() {
            $crate::store::contract::exports_hold_everything_and_imports_add_each_conversation_once(
                                                                                &$make.await,
                                                                            )
                                                                            .await;
        }
        #[tokio::test]
        async fn share_links_lead_to_their_conversation_until_revoked() {
            $crate::store::contract::share_links_lead_to_their_conversation_until_revoked(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn a_provider_subject_finds_its_one_account() {
            $crate::store::contract::a_provider_subject_finds_its_one_account(&$make.await).await;
        }
        #[tokio::test]
        async fn an_account_is_linked_once() {
            $crate::store::contract::an_account_is_linked_once(&$make.await).await;
        }
        #[tokio::test]
        async fn the_audit_log_lists_newest_first_filtered_and_in_pages() {
            $crate::store::contract::the_audit_log_lists_newest_first_filtered_and_in_pages(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn groups_are_saved_over_the_version_read_and_read_with_the_account() {
            $crate::store::contract::groups_are_saved_over_the_version_read_and_read_with_the_account(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn a_groups_cap_stops_every_member_and_counts_parallel_replies_exactly() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::a_groups_cap_stops_every_member_and_counts_parallel_replies_exactly(
                &a, &b,
            )
            .await;
        }
        #[tokio::test]
        async fn model_spend_adds_up_every_accounts_replies() {
            $crate::store::contract::model_spend_adds_up_every_accounts_replies(&$make.await).await;
        }
        #[tokio::test]
        async fn temporary_and_expired_conversations_are_neither_listed_nor_read() {
            $crate::store::contract::temporary_and_expired_conversations_are_neither_listed_nor_read(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn usage_adds_up_by_day() {
            $crate::store::contract::usage_adds_up_by_day(&$make.await).await;
        }
        #[tokio::test]
        async fn branches_are_kept() {
            $crate::store::contract::branches_are_kept(&$make.await).await;
        }
        #[tokio::test]
        async fn folders_hold_conversations_apart_from_the_recent_list() {
            $crate::store::contract::folders_hold_conversations_apart_from_the_recent_list(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn pinned_and_archived_conversations_are_listed_apart() {
            $crate::store::contract::pinned_and_archived_conversations_are_listed_apart(&$make.await)
                .await;
        }
        #[tokio::test]
        async fn throttle_reserves_exactly_the_limit_in_parallel() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::throttle_reserves_exactly_the_limit_in_parallel(&a, &b).await;
        }
    };
}
