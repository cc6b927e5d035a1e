//! How many DynamoDB requests the real function binaries make per request, counted by a proxy
//! in front of DynamoDB Local while each runs under the Runtime API emulator. A page view costs
//! one (the account behind the session), plus one query on the pages that list something.

use std::path::PathBuf;

use bench::events::Setup;
use bench::measure::{Subject, measure};

fn binary(name: &str) -> PathBuf {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/debug")).join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo build --bins` first (scripts/test does)",
        path.display()
    );
    path
}

async fn requests(setup: &Setup, function: &str) -> (usize, Vec<String>) {
    requests_for(setup, function, setup.event_for(function)).await
}

async fn requests_for(setup: &Setup, function: &str, event: String) -> (usize, Vec<String>) {
    let subject = Subject {
        name: function.to_string(),
        command: vec![binary(function).display().to_string()],
        env: setup.env(),
        events: vec![event],
        binary: None,
        proxy: setup.proxy.clone(),
    };
    let measured = measure(&subject, 1, 3).await.expect("the function runs");
    assert!(
        measured.statuses.iter().all(|s| *s < 500),
        "{function} answered {:?}",
        measured.statuses
    );
    (
        measured.dynamodb_requests.expect("counted"),
        measured.dynamodb_operations,
    )
}

#[tokio::test]
async fn a_page_view_costs_at_most_one_dynamodb_request() {
    let url = std::env::var("SWITCHBOARD_TEST_DYNAMODB_URL").expect(
        "SWITCHBOARD_TEST_DYNAMODB_URL: these tests need DynamoDB Local (scripts/test starts it)",
    );
    let setup = Setup::new(Some(&url))
        .await
        .expect("the bench account and table");
    for function in ["logout", "notfound", "transfer"] {
        let (count, operations) = requests(&setup, function).await;
        // The account and whether this session was signed out, in one batch read.
        assert_eq!(count, 1, "{function}, signed in: {operations:?}");
        assert_eq!(operations, ["BatchGetItem"], "{function}");
    }
    // Settings lists the account's API keys: the batch read (with the groups, whose models a
    // new key may be limited to), then one query.
    let (count, operations) = requests(&setup, "settings").await;
    assert_eq!(
        (count, operations),
        (2, vec!["BatchGetItem".to_string(), "Query".to_string()]),
        "settings"
    );
    for function in ["login", "signup"] {
        let (count, operations) = requests(&setup, function).await;
        assert_eq!(count, 0, "{function}, signed out: {operations:?}");
    }
    // Home lists the user's conversations: the session's read, then the recent ones, the
    // pinned ones and the folders, three queries at once.
    let (count, operations) = requests(&setup, "home").await;
    let queries = |n| {
        std::iter::once("BatchGetItem".to_string())
            .chain(std::iter::repeat_n("Query".to_string(), n))
            .collect::<Vec<_>>()
    };
    assert_eq!((count, operations), (4, queries(3)), "home");
    // A conversation's page: the session's read, then its messages, the sidebar's pinned and
    // latest conversations and the folders (to move it to one), four queries at once.
    let (count, operations) = requests(&setup, "chat").await;
    assert_eq!((count, operations), (5, queries(4)), "chat");
    // A shared conversation, opened signed out: the link, then its owner (a disabled one's
    // links do not answer) and the conversation at once, so in either order.
    let (_, mut operations) = requests(&setup, "share").await;
    operations[1..].sort();
    assert_eq!(operations, ["GetItem", "GetItem", "Query"], "share");
    // The usage page: the account with the default cap (one batch read), then this month's
    // and last month's usage (one query each).
    let (_, operations) = requests(&setup, "usage").await;
    assert_eq!(operations, ["BatchGetItem", "Query", "Query"], "usage");
    // The admin page: the account with the default cap, the accounts, and their spend this
    // month and last (a range query each, not a read per account).
    let (_, operations) = requests(&setup, "admin").await;
    assert_eq!(
        operations,
        ["BatchGetItem", "Query", "Query", "Query"],
        "admin"
    );
}

#[tokio::test]
async fn a_chat_turn_reads_twice_at_once_and_writes_twice() {
    let url = std::env::var("SWITCHBOARD_TEST_DYNAMODB_URL").expect(
        "SWITCHBOARD_TEST_DYNAMODB_URL: these tests need DynamoDB Local (scripts/test starts it)",
    );
    let setup = Setup::new(Some(&url))
        .await
        .expect("the bench account and table");
    // The session's account with the default spend cap (one batch read: the bench account
    // has no cap of its own), the conversation with its recent history, the turn (the
    // user's message and the empty reply, with the cap's check and the send counted, in one
    // transaction), and the finished reply with its usage added to the month's totals (one
    // transaction). A reply that streams for longer adds one save per 500 ms.
    let (count, mut operations) = requests_for(&setup, "chat", setup.chat_turn()).await;
    // The session's read and the history's are sent together (in either order): the turn is
    // written after one round trip, and the model asked after two.
    operations[..2].sort();
    assert_eq!(
        operations,
        [
            "BatchGetItem",
            "Query",
            "TransactWriteItems",
            "TransactWriteItems"
        ],
        "{count}"
    );
}

#[tokio::test]
async fn an_api_call_reads_twice_and_writes_its_usage_once() {
    let url = std::env::var("SWITCHBOARD_TEST_DYNAMODB_URL").expect(
        "SWITCHBOARD_TEST_DYNAMODB_URL: these tests need DynamoDB Local (scripts/test starts it)",
    );
    let setup = Setup::new(Some(&url))
        .await
        .expect("the bench account and table");
    // The key's lookup by its hash, then the key with its owner's account and the portal's
    // settings and groups in one batch read.
    let (_, operations) = requests(&setup, "api").await;
    assert_eq!(operations, ["GetItem", "BatchGetItem"], "models");
    // A completion adds its usage (one transaction). The bench sets no cap and no send rate,
    // so there is nothing to reserve; the key's "last used" was noted by the first call
    // (within the minute, not again).
    let (_, operations) = requests_for(&setup, "api", setup.api_completion()).await;
    assert_eq!(
        operations,
        ["GetItem", "BatchGetItem", "TransactWriteItems"],
        "completion"
    );
}
