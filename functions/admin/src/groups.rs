//! `/admin/groups`: groups and the models their members may use. `GET` lists them with their
//! members; `POST` creates one, changes its models, deletes it, or adds or removes a member.
//! Every change is saved over the version of the groups it was made from (a change made
//! meanwhile by another administrator is never silently undone) and audited.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use minijinja::{Value, context};
use serde::Deserialize;
use shared::accounts::{Account, AccountChange};
use shared::audit::AuditAction;
use shared::form::FieldErrors;
use shared::groups::{Group, GroupId, GroupName, Groups, MAX_RETENTION_DAYS};
use shared::session::Flash;
use shared::store::{AccountStore, GroupStore, StoreError};
use shared::usage::{Cost, Month};
use shared::users::Username;
use shared::{AppError, Methods, Reply, Verb, Visit};

use crate::caps::parse_cap;

/// The page's forms.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Action {
    Create,
    Models,
    Caps,
    Delete,
    AddMember,
    RemoveMember,
}

/// The accounts read to find each group's members (100 a page).
const MAX_ACCOUNT_PAGES: usize = 50;

pub async fn page(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    match Methods::GetPost.of(req)? {
        Verb::Get => {
            visit.require_admin()?;
            render(visit, StatusCode::OK, Problems::default()).await
        }
        Verb::Post => {
            let action: Action = visit.action(req)?;
            visit.require_admin()?;
            // Repeated fields (a model per checked box) as the pairs they were posted.
            let fields: Vec<(String, String)> = shared::form::parse(req)?;
            let form = Posted(fields);
            match action {
                Action::Create => create(visit, &form).await,
                Action::Models => models(visit, &form).await,
                Action::Caps => caps(visit, &form).await,
                Action::Delete => delete(visit, &form).await,
                Action::AddMember => membership(visit, &form, true).await,
                Action::RemoveMember => membership(visit, &form, false).await,
            }
        }
    }
}

struct Posted(Vec<(String, String)>);

impl Posted {
    fn one(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// What was wrong with a post, shown beside its form.
#[derive(Default)]
struct Problems {
    errors: FieldErrors,
    /// Which group's form it was (its id), or none for the new-group form.
    group: Option<String>,
    form: Value,
    error: Option<String>,
}

/// The models a form chose: every model, or the checked ones (each in the catalogue).
fn chosen_models(visit: &Visit, form: &Posted) -> Result<Option<Vec<String>>, &'static str> {
    if form.one("access") != "chosen" {
        return Ok(None);
    }
    let catalogue = &visit.app().config.models;
    let chosen = form.all("model");
    if chosen.iter().any(|id| catalogue.get(id).is_none()) {
        return Err("Choose models from the list.");
    }
    // In the catalogue's order, each once.
    Ok(Some(
        catalogue
            .models()
            .iter()
            .filter(|m| chosen.contains(&m.id))
            .map(|m| m.id.clone())
            .collect(),
    ))
}

/// Every group, as stored now (a change is saved over this version).
async fn groups_now(visit: &Visit<'_>) -> Result<Groups, AppError> {
    Ok(visit.app().store().await?.groups().await?)
}

async fn save(
    visit: &mut Visit<'_>,
    groups: &Groups,
    list: Vec<Group>,
    done: String,
) -> Result<Reply, AppError> {
    match visit
        .app()
        .store()
        .await?
        .save_groups(&list, groups.version)
        .await
    {
        Ok(_) => {
            visit.flash(Flash::new(done));
            Ok(Reply::Redirect("/admin/groups"))
        }
        Err(StoreError::Conflict) => {
            let problems = Problems {
                error: Some(
                    "Another administrator changed the groups at the same moment. Nothing was \
                     changed: look again and retry."
                        .into(),
                ),
                ..Default::default()
            };
            render(visit, StatusCode::CONFLICT, problems).await
        }
        Err(err) => Err(err.into()),
    }
}

async fn create(visit: &mut Visit<'_>, form: &Posted) -> Result<Reply, AppError> {
    let groups = groups_now(visit).await?;
    let mut errors = FieldErrors::default();
    let name = errors.check("name", GroupName::parse(form.one("name")));
    if let Some(name) = &name
        && groups.named(name.as_str()).is_some()
    {
        errors.add(
            "name",
            "A group of that name exists (names are unique, whatever their case).",
        );
    }
    if groups.list.len() >= Groups::MAX {
        errors.add("name", "A portal has at most 100 groups.");
    }
    let models = errors.check("models", chosen_models(visit, form));
    let (Some(name), Some(models), true) = (name, models, errors.is_empty()) else {
        let problems = Problems {
            errors,
            form: context! { name => form.one("name").trim(), access => form.one("access"), models => form.all("model") },
            ..Default::default()
        };
        return render(visit, StatusCode::BAD_REQUEST, problems).await;
    };
    let group = Group {
        id: GroupId::generate(),
        name: name.clone(),
        models: models.clone(),
        created_at: visit.now(),
        monthly_cap: None,
        member_cap: None,
        retention_days: None,
        api_off: false,
    };
    let mut list = groups.list.clone();
    list.push(group);
    let entry = visit.audit_entry(AuditAction::GroupCreated);
    visit
        .record(entry.detail(&format!("{}: {}", name.as_str(), describe(&models))))
        .await;
    save(
        visit,
        &groups,
        list,
        format!("Created the group {}.", name.as_str()),
    )
    .await
}

/// Every group, with `change` made to the one whose id is `id`.
fn changed(groups: &Groups, id: &GroupId, change: impl Fn(&mut Group)) -> Vec<Group> {
    groups
        .list
        .iter()
        .map(|g| {
            let mut g = g.clone();
            if g.id == *id {
                change(&mut g);
            }
            g
        })
        .collect()
}

/// The group a form names (its id), as read.
fn named_group<'g>(groups: &'g Groups, form: &Posted) -> Result<&'g Group, AppError> {
    GroupId::parse(form.one("group"))
        .and_then(|id| groups.get(&id))
        .ok_or(AppError::NotFound)
}

async fn models(visit: &mut Visit<'_>, form: &Posted) -> Result<Reply, AppError> {
    let groups = groups_now(visit).await?;
    let group = named_group(&groups, form)?.clone();
    let models = match chosen_models(visit, form) {
        Ok(models) => models,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("models", message);
            let problems = Problems {
                errors,
                group: Some(group.id.as_str().to_string()),
                ..Default::default()
            };
            return render(visit, StatusCode::BAD_REQUEST, problems).await;
        }
    };
    let api_off = form.one("api") != "on";
    let list = changed(&groups, &group.id, |g| {
        g.models = models.clone();
        g.api_off = api_off;
    });
    let api = if api_off { ", not through the API" } else { "" };
    let entry = visit.audit_entry(AuditAction::GroupModelsChanged);
    visit
        .record(entry.detail(&format!(
            "{}: {}{api}",
            group.name.as_str(),
            describe(&models)
        )))
        .await;
    let done = format!(
        "{} may now use {}{api}.",
        group.name.as_str(),
        describe(&models)
    );
    save(visit, &groups, list, done).await
}

/// A retention period in days, or (blank) none.
fn parse_days(raw: &str) -> Result<Option<u32>, &'static str> {
    match raw.trim() {
        "" => Ok(None),
        days => days
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_RETENTION_DAYS).contains(d))
            .map(Some)
            .ok_or("Enter a whole number of days from 1 to 3650, or leave it blank."),
    }
}

/// A group's limits: its caps and its retention period.
async fn caps(visit: &mut Visit<'_>, form: &Posted) -> Result<Reply, AppError> {
    let groups = groups_now(visit).await?;
    let group = named_group(&groups, form)?.clone();
    let mut errors = FieldErrors::default();
    let monthly = errors.check("monthly_cap", parse_cap(form.one("monthly_cap")));
    let member = errors.check("member_cap", parse_cap(form.one("member_cap")));
    let retention = errors.check("retention_days", parse_days(form.one("retention_days")));
    let (Some(monthly), Some(member), Some(retention), true) =
        (monthly, member, retention, errors.is_empty())
    else {
        let problems = Problems {
            errors,
            group: Some(group.id.as_str().to_string()),
            form: context! {
                monthly_cap => form.one("monthly_cap").trim(),
                member_cap => form.one("member_cap").trim(),
                retention_days => form.one("retention_days").trim(),
            },
            ..Default::default()
        };
        return render(visit, StatusCode::BAD_REQUEST, problems).await;
    };
    let list = changed(&groups, &group.id, |g| {
        g.monthly_cap = monthly;
        g.member_cap = member;
        g.retention_days = retention;
    });
    let words = |cap: Option<Cost>| cap.map_or("none".to_string(), |c| c.dollars());
    let detail = format!(
        "{}: {} a month for the group, {} for each member, conversations kept {}",
        group.name.as_str(),
        words(monthly),
        words(member),
        retention.map_or("for ever".to_string(), |d| format!("{d} days")),
    );
    let entry = visit.audit_entry(AuditAction::GroupCapsChanged);
    visit.record(entry.detail(&detail)).await;
    let done = format!("Saved the limits of {}.", group.name.as_str());
    save(visit, &groups, list, done).await
}

async fn delete(visit: &mut Visit<'_>, form: &Posted) -> Result<Reply, AppError> {
    let groups = groups_now(visit).await?;
    let group = named_group(&groups, form)?.clone();
    let list = groups
        .list
        .iter()
        .filter(|g| g.id != group.id)
        .cloned()
        .collect();
    let entry = visit.audit_entry(AuditAction::GroupDeleted);
    visit.record(entry.detail(group.name.as_str())).await;
    // Memberships name the group's id, never reused: they lapse with it.
    let done = format!("Deleted the group {}.", group.name.as_str());
    save(visit, &groups, list, done).await
}

async fn membership(visit: &mut Visit<'_>, form: &Posted, join: bool) -> Result<Reply, AppError> {
    let groups = groups_now(visit).await?;
    let group = named_group(&groups, form)?.clone();
    let store = visit.app().store().await?;
    let refuse = |message: &str| {
        let mut errors = FieldErrors::default();
        errors.add("member", message.to_string());
        Problems {
            errors,
            group: Some(group.id.as_str().to_string()),
            form: context! { member => form.one("member").trim() },
            ..Default::default()
        }
    };
    let account = match Username::parse(form.one("member")) {
        Ok(name) => store.account(&name).await?.filter(|a| !a.deleting),
        Err(_) => None,
    };
    let Some(account) = account else {
        let problems = refuse("There is no account with that username.");
        return render(visit, StatusCode::BAD_REQUEST, problems).await;
    };
    let change = if join {
        AccountChange::JoinGroup(group.id.clone())
    } else {
        AccountChange::LeaveGroup(group.id.clone())
    };
    match store.change_account(&account.username, &change).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            let problems = refuse("There is no account with that username.");
            return render(visit, StatusCode::BAD_REQUEST, problems).await;
        }
        Err(err) => return Err(err.into()),
    }
    let (action, done) = if join {
        (AuditAction::GroupMemberAdded, "is now in")
    } else {
        (AuditAction::GroupMemberRemoved, "is no longer in")
    };
    let name = account.username.as_str();
    let entry = visit.audit_entry(action).on(name);
    visit.record(entry.detail(group.name.as_str())).await;
    visit.flash(Flash::new(format!(
        "{name} {done} {}.",
        group.name.as_str()
    )));
    Ok(Reply::Redirect("/admin/groups"))
}

/// A group's models, in words.
fn describe(models: &Option<Vec<String>>) -> String {
    match models {
        None => "every model".into(),
        Some(ids) if ids.is_empty() => "no model".into(),
        Some(ids) => ids.join(", "),
    }
}

/// The accounts an administrator put in each group, by group id (reads the accounts in
/// pages: groups are managed rarely, and no request path depends on it).
async fn members(visit: &Visit<'_>) -> Result<Vec<Account>, AppError> {
    let store = visit.app().store().await?;
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_ACCOUNT_PAGES {
        let page = store.list_accounts(after.as_deref(), 100).await?;
        found.extend(
            page.items
                .into_iter()
                .filter(|a| !a.member_of.is_empty() && !a.deleting),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(found)
}

async fn render(
    visit: &Visit<'_>,
    status: StatusCode,
    problems: Problems,
) -> Result<Reply, AppError> {
    let store = visit.app().store().await?;
    let groups = store.groups().await?;
    let members = members(visit).await?;
    let ids: Vec<GroupId> = groups.list.iter().map(|g| g.id.clone()).collect();
    let spent = store.group_spend(&ids, Month::of(visit.now())).await?;
    let catalogue = &visit.app().config.models;
    // Shown beside the one form they are about.
    let mut errors = Some(problems.errors);
    let list: Vec<Value> = groups
        .list
        .iter()
        .map(|g| {
            let names: Vec<String> = members
                .iter()
                .filter(|a| a.member_of.contains(&g.id))
                .map(|a| a.username.as_str().to_string())
                .collect();
            let mine = problems.group.as_deref() == Some(g.id.as_str());
            let spent = spent
                .iter()
                .find(|(id, _)| *id == g.id)
                .map_or(Cost::ZERO, |(_, c)| *c);
            context! {
                spent => spent.dollars(),
                monthly_cap => g.monthly_cap.map(|c| c.dollars()),
                member_cap => g.member_cap.map(|c| c.dollars()),
                monthly_cap_input => g.monthly_cap.map(|c| c.dollars().trim_start_matches('$').to_string()),
                member_cap_input => g.member_cap.map(|c| c.dollars().trim_start_matches('$').to_string()),
                retention_days => g.retention_days,
                id => g.id.as_str(),
                name => g.name.as_str(),
                every => g.models.is_none(),
                api => !g.api_off,
                models => g.models.clone().unwrap_or_default(),
                described => describe(&g.models),
                members => names,
                errors => if mine { errors.take().map(Value::from) } else { None },
                form => if mine { Some(problems.form.clone()) } else { None },
            }
        })
        .collect();
    let catalogue_models: Vec<Value> = catalogue
        .models()
        .iter()
        .map(|m| context! { id => &m.id, name => &m.name })
        .collect();
    let new_form_errors = if problems.group.is_none() {
        errors.take().map(Value::from)
    } else {
        None
    };
    Ok(Reply::page_with_status(
        status,
        "admin-groups.html",
        context! {
            groups => list,
            catalogue => catalogue_models,
            errors => new_form_errors,
            form => if problems.group.is_none() { Some(problems.form.clone()) } else { None },
            error => problems.error,
            sso => visit.app().config.sso.as_ref().map(|s| s.display_name.as_str()),
            default_models => describe(&match &visit.app().config.default_models {
                shared::groups::ModelAccess::Every => None,
                shared::groups::ModelAccess::Only(ids) => Some(ids.clone()),
            }),
        },
    ))
}
