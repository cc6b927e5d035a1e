//! `GET /admin/audit`: the audit log for administrators, newest first, filtered by a name
//! (who did it, or to whom) and by action, 50 entries a page.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use shared::audit::{AuditAction, AuditFilter, MAX_NAME};
use shared::form::FieldErrors;
use shared::store::AuditStore;
use shared::web::query;
use shared::{AppError, Methods, Reply, Visit};

const PAGE: usize = 50;

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    who: String,
    #[serde(default)]
    action: String,
    before: Option<String>,
}

pub async fn page(visit: &Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Get.of(req)?;
    visit.require_admin()?;
    let asked: AuditQuery = query(req)?;
    let mut errors = FieldErrors::default();
    let who = asked.who.trim().to_lowercase();
    if who.chars().count() > MAX_NAME {
        errors.add("who", "A name has at most 64 characters.");
    }
    let action = match asked.action.as_str() {
        "" => None,
        name => {
            let action = AuditAction::parse(name);
            if action.is_none() {
                errors.add("action", "Choose an action from the list.");
            }
            action
        }
    };
    // An id as the store writes them: digits, `.`, `#`, and URL-safe random characters.
    let before = asked.before.filter(|b| !b.is_empty());
    if let Some(before) = &before
        && (before.len() > 64
            || !before
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".#-_".contains(c)))
    {
        return Err(AppError::BadRequest("That page link is not valid."));
    }
    let actions: Vec<_> = AuditAction::ALL
        .iter()
        .map(|a| context! { value => a.as_str(), label => a.label() })
        .collect();
    let form = context! { who => asked.who.trim(), action => asked.action };
    if !errors.is_empty() {
        return Ok(Reply::page_with_status(
            StatusCode::BAD_REQUEST,
            "admin-audit.html",
            context! { errors, form, actions, entries => Vec::<()>::new() },
        ));
    }
    let filter = AuditFilter {
        who: (!who.is_empty()).then_some(who),
        action,
    };
    let store = visit.app().store().await?;
    let found = store
        .audit_entries(&filter, before.as_deref(), PAGE, visit.now())
        .await?;
    let entries: Vec<_> = found
        .items
        .iter()
        .map(|e| {
            context! {
                at => shared::pages::datetime(e.at),
                actor => &e.actor,
                action => e.action.label(),
                subject => &e.subject,
                address => &e.address,
                detail => &e.detail,
            }
        })
        .collect();
    let next = found.next.map(|before| {
        serde_urlencoded::to_string([
            ("who", filter.who.as_deref().unwrap_or("")),
            ("action", filter.action.map_or("", |a| a.as_str())),
            ("before", before.as_str()),
        ])
        .unwrap_or_default()
    });
    Ok(Reply::page(
        "admin-audit.html",
        context! {
            entries, form, actions, next,
            filtered => filter.who.is_some() || filter.action.is_some(),
            days => visit.app().config.audit_days,
        },
    ))
}
