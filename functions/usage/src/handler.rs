//! `GET /usage`: what the signed-in user's replies used and cost, this month and last month
//! (`?month=YYYY-MM` for another pair), overall, per model and per conversation, against
//! their spend cap.

use lambda_http::{Body, Request, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use shared::ai::Catalogue;
use shared::chart;
use shared::store::UsageStore;
use shared::usage::{Cost, Month, Totals, UsageLine, UsageReport};
use shared::web::query;
use shared::{AlsoRead, App, AppError, Methods, Reply, Visit, listing, serve_reading};

#[derive(Deserialize)]
struct UsageQuery {
    month: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    // The page shows the cap that applies: read the default with the account.
    serve_reading(app, req, AlsoRead::DefaultSpendCap, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Get.of(req)?;
    let account = visit.require_user()?.clone();
    let current = Month::of(visit.now());
    let month = match query::<UsageQuery>(req)?.month {
        None => current,
        Some(raw) => Month::parse(&raw).ok_or(AppError::BadRequest(
            "That month is not valid: use YYYY-MM.",
        ))?,
    };
    let app = visit.app();
    let store = app.store().await?;
    let previous = month.previous();
    let (shown, before) = tokio::try_join!(
        store.usage(&account.username, month),
        store.usage(&account.username, previous),
    )?;
    let cap = if month == current {
        cap(
            visit.spend_cap().await?,
            account.spend_cap.is_some(),
            &shown,
        )
    } else {
        Value::from(())
    };
    let catalogue = &app.config.models;
    Ok(Reply::page(
        "usage.html",
        context! {
            reports => [report(catalogue, month, &shown, true), report(catalogue, previous, &before, false)],
            cap,
            earlier => previous.previous().key(),
            later => (month < current).then(|| month.next().key()),
        },
    ))
}

/// The cap that applies this month, and how much of it is used; only for the current month.
fn cap(cap: Option<Cost>, own: bool, shown: &UsageReport) -> Value {
    match cap {
        None => context! { none => true },
        Some(cap) => {
            let spent = shown.total.cost;
            let percent = if cap.nanos() == 0 {
                100
            } else {
                (spent.nanos().saturating_mul(100) / cap.nanos()).min(100)
            };
            context! {
                amount => cap.dollars(),
                own,
                spent => spent.to_string(),
                percent,
                reached => spent >= cap,
            }
        }
    }
}

fn totals(t: &Totals) -> Value {
    context! {
        input_tokens => t.input_tokens,
        output_tokens => t.output_tokens,
        cost => t.cost.to_string(),
        replies => t.replies,
        estimated_replies => t.estimated_replies,
        cached => (t.cache.read_tokens + t.cache.write_tokens > 0).then(|| context! {
            read => t.cache.read_tokens,
            written => t.cache.write_tokens,
            saved => t.cache.saved.to_string(),
        }),
    }
}

fn line(label: String, id: &str, l: &UsageLine) -> Value {
    // API calls are counted on one line of their own, which is no conversation to link to.
    let api = id == shared::usage::API_USAGE;
    minijinja::value::merge_maps([context! { label, id, api }, totals(&l.totals)])
}

/// The day-by-day spend of the month (every day, the empty ones too) and each model's share
/// of it, as charts.
fn charts(catalogue: &Catalogue, month: Month, r: &UsageReport) -> Value {
    let days: Vec<(String, Cost)> = (1..=month.days())
        .map(|day| {
            let cost = r
                .by_day
                .iter()
                .find(|(d, _)| *d == day)
                .map_or(Cost::ZERO, |(_, t)| t.cost);
            (day.to_string(), cost)
        })
        .collect();
    let total = r.total.cost.nanos().max(1);
    let shares: Vec<(String, Cost)> = r
        .by_model
        .iter()
        .map(|l| {
            let percent = l.totals.cost.nanos() * 100 / total;
            let name = listing::model_name(catalogue, &l.id);
            (format!("{name} ({percent}%)"), l.totals.cost)
        })
        .collect();
    context! {
        daily => chart::columns(&days),
        shares => chart::bars(&shares, 10),
    }
}

fn report(catalogue: &Catalogue, month: Month, r: &UsageReport, with_charts: bool) -> Value {
    context! {
        charts => (with_charts && r.total.replies > 0).then(|| charts(catalogue, month, r)),
        days => r.by_day.iter()
            .map(|(day, t)| context! { day, replies => t.replies, cost => t.cost.to_string() })
            .collect::<Vec<_>>(),
        key => month.key(),
        name => month.name(),
        total => totals(&r.total),
        empty => r.total.replies == 0,
        models => r.by_model.iter()
            .map(|l| line(listing::model_name(catalogue, &l.id), &l.id, l))
            .collect::<Vec<_>>(),
        conversations => r.by_conversation.iter()
            .map(|l| line(l.label.clone(), &l.id, l))
            .collect::<Vec<_>>(),
    }
}

#[cfg(test)]
mod tests;
