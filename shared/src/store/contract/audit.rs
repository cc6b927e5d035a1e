//! The audit capability's contract.

use super::*;

use crate::audit::{AuditAction, AuditEntry, AuditFilter};

pub async fn the_audit_log_lists_newest_first_filtered_and_in_pages<S: AuditStore>(store: &S) {
    let now = 1_900_000_000;
    let admin = unique_name("auditor");
    let target = unique_name("audited");
    let mut recorded = Vec::new();
    for i in 0..5u64 {
        let entry = AuditEntry::new(AuditAction::AccountDisabled, now + i, "192.0.2.1", 30)
            .by(admin.as_str())
            .on(target.as_str())
            .detail(&format!("step {i}"));
        store.record_audit(&entry).await.unwrap();
        recorded.push(entry);
    }
    let refused =
        AuditEntry::new(AuditAction::SignInRefused, now + 10, "192.0.2.2", 30).on(target.as_str());
    store.record_audit(&refused).await.unwrap();
    // Expired (its retention was a day, and that day is over at `now + 2 days`).
    let old = AuditEntry::new(AuditAction::SignIn, now, "192.0.2.3", 1).by(target.as_str());
    store.record_audit(&old).await.unwrap();

    let by_name = |action| AuditFilter {
        who: Some(target.as_str().to_string()),
        action,
    };
    let later = now + 2 * 86_400;
    let all = store
        .audit_entries(&by_name(None), None, 50, later)
        .await
        .unwrap();
    let ids: Vec<&str> = all.items.iter().map(|e| e.id.as_str()).collect();
    let mut expected: Vec<&str> = recorded.iter().map(|e| e.id.as_str()).collect();
    expected.push(&refused.id);
    expected.reverse();
    assert_eq!(ids, expected, "newest first, the expired one left out");
    assert_eq!(all.next, None);
    assert_eq!(all.items[0], refused);

    // By the one who did it, and by action.
    let admins = AuditFilter {
        who: Some(admin.as_str().to_string()),
        action: None,
    };
    assert_eq!(
        store
            .audit_entries(&admins, None, 50, later)
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    let refusals = store
        .audit_entries(&by_name(Some(AuditAction::SignInRefused)), None, 50, later)
        .await
        .unwrap();
    assert_eq!(refusals.items, vec![refused.clone()]);
    // Still there before it expires.
    assert_eq!(
        store
            .audit_entries(&by_name(None), None, 50, now + 20)
            .await
            .unwrap()
            .items
            .len(),
        7
    );

    // In pages of two.
    let first = store.audit_entries(&admins, None, 2, later).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let second = store
        .audit_entries(&admins, first.next.as_deref(), 2, later)
        .await
        .unwrap();
    let third = store
        .audit_entries(&admins, second.next.as_deref(), 2, later)
        .await
        .unwrap();
    assert_eq!(third.items.len(), 1);
    assert_eq!(third.next, None);
    assert_eq!(third.items[0], recorded[0]);
}
