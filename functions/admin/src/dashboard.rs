//! `GET /admin/usage`: where the money goes in a month, by group, by account and by model,
//! as charts drawn on the server with their tables beside them; `?format=csv` downloads the
//! same figures.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use minijinja::{Value, context};
use serde::Deserialize;
use shared::chart;
use shared::form::FieldErrors;
use shared::groups::GroupId;
use shared::listing::model_name;
use shared::store::{GroupStore, UsageStore};
use shared::usage::{Cost, Month};
use shared::web::query;
use shared::{AppError, Methods, Reply, Visit};

/// How many months back the page offers.
const MONTHS: usize = 24;
/// The most bars a chart draws (the table lists every row).
const CHART_BARS: usize = 15;

#[derive(Deserialize)]
struct UsageQuery {
    #[serde(default)]
    month: String,
    #[serde(default)]
    format: String,
}

/// One row of a table: a name, what it spent, how many replies (when known), its cap.
struct Row {
    name: String,
    cost: Cost,
    replies: Option<u64>,
    cap: Option<Cost>,
}

struct Section {
    id: &'static str,
    what: &'static str,
    column: &'static str,
    caps: bool,
    rows: Vec<Row>,
}

pub async fn page(visit: &Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Get.of(req)?;
    visit.require_admin()?;
    let asked: UsageQuery = query(req)?;
    let this_month = Month::of(visit.now());
    let months: Vec<Month> = std::iter::successors(Some(this_month), |m| Some(m.previous()))
        .take(MONTHS)
        .collect();
    let month = match asked.month.trim() {
        "" => Some(this_month),
        raw => Month::parse(raw).filter(|m| months.contains(m)),
    };
    let offered: Vec<Value> = months
        .iter()
        .map(|m| context! { key => m.key(), name => m.name() })
        .collect();
    let Some(month) = month else {
        let mut errors = FieldErrors::default();
        errors.add("month", "Choose a month from the list (the last 24).");
        return Ok(Reply::page_with_status(
            StatusCode::BAD_REQUEST,
            "admin-usage.html",
            context! {
                errors, months => offered, month => this_month.key(),
                month_name => this_month.name(), sections => Vec::<()>::new(),
            },
        ));
    };
    let sections = figures(visit, month).await?;
    if asked.format == "csv" {
        return Ok(Reply::Download {
            content_type: "text/csv; charset=utf-8",
            filename: format!("switchboard-spending-{}.csv", month.key()),
            body: csv(&sections, month),
        });
    }
    let sections: Vec<Value> = sections
        .iter()
        .map(|s| {
            let chart_rows: Vec<(String, Cost)> =
                s.rows.iter().map(|r| (r.name.clone(), r.cost)).collect();
            context! {
                id => s.id,
                what => s.what,
                column => s.column,
                caps => s.caps,
                chart => chart::bars(&chart_rows, CHART_BARS),
                chart_limit => CHART_BARS,
                rows => s.rows.iter().map(|r| context! {
                    name => &r.name,
                    cost => r.cost.dollars(),
                    replies => r.replies,
                    cap => r.cap.map(|c| c.dollars()),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    Ok(Reply::page(
        "admin-usage.html",
        context! {
            months => offered, month => month.key(), month_name => month.name(), sections,
        },
    ))
}

/// The month's figures: by group (with their caps), by account, by model; each largest first.
async fn figures(visit: &Visit<'_>, month: Month) -> Result<Vec<Section>, AppError> {
    let store = visit.app().store().await?;
    let groups = store.groups().await?;
    let ids: Vec<GroupId> = groups.list.iter().map(|g| g.id.clone()).collect();
    let group_spend = store.group_spend(&ids, month).await?;
    let by_group = groups
        .list
        .iter()
        .map(|g| Row {
            name: g.name.as_str().to_string(),
            cost: group_spend
                .iter()
                .find(|(id, _)| *id == g.id)
                .map_or(Cost::ZERO, |(_, c)| *c),
            replies: None,
            cap: g.monthly_cap,
        })
        .collect();
    let by_account = store
        .spend_between(month, "", "~")
        .await?
        .into_iter()
        .map(|(name, totals)| Row {
            name,
            cost: totals.cost,
            replies: Some(totals.replies),
            cap: None,
        })
        .collect();
    let catalogue = &visit.app().config.models;
    let by_model = store
        .model_spend(month)
        .await?
        .into_iter()
        .map(|(id, totals)| Row {
            name: model_name(catalogue, &id),
            cost: totals.cost,
            replies: Some(totals.replies),
            cap: None,
        })
        .collect();
    let mut sections = vec![
        Section {
            id: "groups",
            what: "group",
            column: "Group",
            caps: true,
            rows: by_group,
        },
        Section {
            id: "accounts",
            what: "account",
            column: "Account",
            caps: false,
            rows: by_account,
        },
        Section {
            id: "models",
            what: "model",
            column: "Model",
            caps: false,
            rows: by_model,
        },
    ];
    for section in &mut sections {
        section
            .rows
            .sort_by(|a, b| b.cost.cmp(&a.cost).then(a.name.cmp(&b.name)));
    }
    Ok(sections)
}

/// The figures as CSV: one line per group, account and model.
fn csv(sections: &[Section], month: Month) -> String {
    let mut out = String::from("month,kind,name,cost_usd,replies,monthly_cap_usd\r\n");
    for section in sections {
        for row in &section.rows {
            let fields = [
                month.key(),
                section.what.to_string(),
                row.name.clone(),
                plain_dollars(row.cost),
                row.replies.map(|r| r.to_string()).unwrap_or_default(),
                row.cap.map(plain_dollars).unwrap_or_default(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

/// Dollars as a plain number a spreadsheet reads (`12.345678`).
fn plain_dollars(cost: Cost) -> String {
    let nanos = cost.nanos();
    format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000)
}

/// One CSV field: quoted when it holds a comma, quote or line break (RFC 4180), and never
/// read as a formula by a spreadsheet (a leading `=`, `+`, `-`, `@` gets a `'`).
fn csv_field(value: &str) -> String {
    let value = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
        assert_eq!(
            plain_dollars(Cost::from_nanos(12_345_678_900)),
            "12.345678900"
        );
    }
}
