//! The admin page: accounts, 50 at a time, with their spend this month and last, and the
//! forms of every action.

use lambda_http::http::StatusCode;
use minijinja::{Value, context};
use shared::accounts::Email;
use shared::store::{AccountStore, UsageStore};
use shared::usage::{Cost, Month, Totals};
use shared::{AppError, Reply, Visit};

use crate::handler::Problems;

const PAGE_SIZE: usize = 50;

pub async fn render(
    visit: &Visit<'_>,
    status: StatusCode,
    after: Option<&str>,
    problems: Problems,
) -> Result<Reply, AppError> {
    let app = visit.app();
    let page = app.store().await?.list_accounts(after, PAGE_SIZE).await?;
    let store = app.store().await?;
    let (this_month, last_month) = {
        let month = Month::of(visit.now());
        let first = page.items.first().map_or("", |a| a.username.as_str());
        let last = page.items.last().map_or("", |a| a.username.as_str());
        // The page's accounts' spend: two range queries by username, not one read each.
        if page.items.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            tokio::try_join!(
                store.spend_between(month, first, last),
                store.spend_between(month.previous(), first, last),
            )?
        }
    };
    let default_cap = visit.default_spend_cap().await?;
    let api_enabled = visit.api_enabled().await?;
    let spent = |list: &[(String, Totals)], name: &str| {
        list.iter()
            .find(|(n, _)| n == name)
            .map_or(Cost::ZERO, |(_, t)| t.cost)
            .to_string()
    };
    let accounts: Vec<Value> = page
        .items
        .iter()
        .map(|a| {
            let name = a.username.as_str();
            context! {
                username => name,
                email => a.email.as_ref().map(Email::as_str),
                role => a.role.as_str(),
                disabled => a.disabled,
                deleting => a.deleting,
                single_sign_on => a.identity.is_some(),
                spent_this_month => spent(&this_month, name),
                spent_last_month => spent(&last_month, name),
                own_cap => a.spend_cap.map(|c| c.dollars()),
                own_cap_input => a.spend_cap.map(|c| c.dollars().trim_start_matches('$').to_string()),
            }
        })
        .collect();
    Ok(Reply::page_with_status(
        status,
        "admin.html",
        context! {
            accounts,
            next => page.next,
            errors => problems.errors,
            error => problems.error,
            form => problems.form,
            invite_days => app.config.invite_lifetime.as_secs() / 86_400,
            default_cap => default_cap.map(|c| c.dollars()),
            api_enabled,
            default_cap_input => default_cap.map(|c| c.dollars().trim_start_matches('$').to_string()),
        },
    ))
}
