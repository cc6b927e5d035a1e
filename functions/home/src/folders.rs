//! Folders: `POST /folders` makes one (`action=create`, a name); `GET /folders/{id}` is its
//! page (its conversations, the new-conversation form with its defaults, its settings;
//! `?confirm=delete` asks before deleting it); `POST /folders/{id}` changes its settings
//! (`action=settings`: name, default model, system prompt) or deletes it (`action=delete`:
//! its conversations go back to the recent list). Another user's folder is a 404.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use minijinja::{Value, context};
use serde::Deserialize;
use shared::conversations::Shelf;
use shared::folders::{Folder, FolderId, MAX_FOLDERS};
use shared::form::FieldErrors;
use shared::listing::{self, Listing};
use shared::session::Flash;
use shared::store::{FolderStore, StoreError};
use shared::users::Username;
use shared::web::{path_parameter, query};
use shared::{AppError, Methods, Reply, Verb, Visit};

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Action {
    Create,
    Settings,
    Delete,
}

#[derive(Deserialize)]
struct FolderForm {
    #[serde(default)]
    folder_name: String,
    #[serde(default)]
    folder_model: String,
    #[serde(default)]
    folder_system: String,
}

#[derive(Deserialize)]
struct FolderQuery {
    after: Option<String>,
    /// `delete` asks to confirm deleting the folder.
    confirm: Option<String>,
}

/// `/folders` and `/folders/{id}`.
pub async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    let id = path_parameter(req, "id", "/folders/");
    match (id, Methods::GetPost.of(req)?) {
        (None, Verb::Get) => Ok(Reply::Redirect("/")),
        (None, Verb::Post) => {
            let action: Action = visit.action(req)?;
            if action != Action::Create {
                return Err(AppError::BadRequest("That form is not one of this page's."));
            }
            create(visit, req).await
        }
        (Some(raw), verb) => {
            let id = FolderId::parse(&raw).ok_or(AppError::NotFound)?;
            let owner = visit.require_user()?.username.clone();
            let store = visit.app().store().await?;
            let folder = store.folder(&owner, &id).await?.ok_or(AppError::NotFound)?;
            match verb {
                Verb::Get => {
                    let page: FolderQuery = query(req)?;
                    let confirm_delete = page.confirm.as_deref() == Some("delete");
                    let extra = context! { confirm_delete };
                    folder_page(
                        visit,
                        req,
                        &folder,
                        page.after.as_deref(),
                        extra,
                        StatusCode::OK,
                    )
                    .await
                }
                Verb::Post => match visit.action::<Action>(req)? {
                    Action::Settings => settings(visit, req, folder).await,
                    Action::Delete => delete(visit, &owner, folder).await,
                    Action::Create => {
                        Err(AppError::BadRequest("That form is not one of this page's."))
                    }
                },
            }
        }
    }
}

/// A folder's page: the home page's, listing its conversations.
async fn folder_page(
    visit: &Visit<'_>,
    req: &Request,
    folder: &Folder,
    after: Option<&str>,
    extra: Value,
    status: StatusCode,
) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let access = visit.model_access().await?;
    let app = visit.app();
    let listed = listing::home(app, &owner, None, after, &access, Listing::Folder(folder)).await?;
    let attached = shared::attachments::page::in_address(req);
    let here = format!("/folders/{}", folder.id.as_str());
    let files =
        shared::attachments::page::form_context(visit, &owner, &here, &attached, None).await?;
    Ok(Reply::page_with_status(
        status,
        "home.html",
        minijinja::value::merge_maps([listed, files, extra]),
    ))
}

/// The home page again with the new-folder form refused.
async fn home_again(
    visit: &Visit<'_>,
    owner: &Username,
    errors: FieldErrors,
    typed: &str,
) -> Result<Reply, AppError> {
    let access = visit.model_access().await?;
    let listed = listing::home(
        visit.app(),
        owner,
        None,
        None,
        &access,
        Listing::Shelf(Shelf::Recent),
    )
    .await?;
    let files = shared::attachments::page::form_context(visit, owner, "/", &[], None).await?;
    let extra = context! { errors, new_folder => typed };
    Ok(Reply::page_with_status(
        StatusCode::BAD_REQUEST,
        "home.html",
        minijinja::value::merge_maps([listed, files, extra]),
    ))
}

async fn create(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    let form: FolderForm = visit.form(req)?;
    let owner = visit.require_user()?.username.clone();
    let store = visit.app().store().await?;
    let mut errors = FieldErrors::default();
    let name = errors.check(
        "folder_name",
        shared::folders::FolderName::parse(&form.folder_name),
    );
    if store.folders(&owner).await?.len() >= MAX_FOLDERS {
        errors.add(
            "folder_name",
            format!(
                "You have {MAX_FOLDERS} folders, the most an account may have: delete one first."
            ),
        );
    }
    let (Some(name), true) = (name, errors.is_empty()) else {
        return home_again(visit, &owner, errors, form.folder_name.trim()).await;
    };
    let folder = Folder {
        id: FolderId::generate(),
        name,
        model: None,
        system: None,
        created_at: visit.now(),
    };
    match store.create_folder(&owner, &folder).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(AppError::SignInRequired),
        Err(err) => return Err(AppError::internal(err)),
    }
    visit.flash(Flash::new(format!(
        "The folder {} is ready: conversations started here are filed in it.",
        folder.name.as_str()
    )));
    Ok(Reply::RedirectTo(format!(
        "/folders/{}",
        folder.id.as_str()
    )))
}

async fn settings(visit: &mut Visit<'_>, req: &Request, folder: Folder) -> Result<Reply, AppError> {
    let form: FolderForm = visit.form(req)?;
    let owner = visit.require_user()?.username.clone();
    let access = visit.model_access().await?;
    let catalogue = &visit.app().config.models;
    let checked = Folder::settings(&form.folder_name, &form.folder_model, &form.folder_system);
    let mut errors = FieldErrors::default();
    let settings = match checked {
        Ok(settings) => {
            if settings
                .model
                .as_deref()
                .is_some_and(|m| catalogue.get(m).is_none() || !access.allows(m))
            {
                errors.add("folder_model", "Choose among the models listed.");
            }
            Some(settings)
        }
        Err(problems) => {
            for (field, message) in problems {
                errors.add(field, message);
            }
            None
        }
    };
    let (Some(settings), true) = (settings, errors.is_empty()) else {
        let extra = context! {
            errors,
            folder_form => context! {
                name => form.folder_name.trim(),
                model => form.folder_model.trim(),
                system => &form.folder_system,
            },
        };
        return folder_page(visit, req, &folder, None, extra, StatusCode::BAD_REQUEST).await;
    };
    let changed = Folder {
        name: settings.name,
        model: settings.model,
        system: settings.system,
        ..folder
    };
    match visit
        .app()
        .store()
        .await?
        .update_folder(&owner, &changed)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(AppError::NotFound),
        Err(err) => return Err(AppError::internal(err)),
    }
    visit.flash(Flash::new("The folder's settings are saved."));
    Ok(Reply::RedirectTo(format!(
        "/folders/{}",
        changed.id.as_str()
    )))
}

async fn delete(
    visit: &mut Visit<'_>,
    owner: &Username,
    folder: Folder,
) -> Result<Reply, AppError> {
    match visit
        .app()
        .store()
        .await?
        .delete_folder(owner, &folder.id)
        .await
    {
        // Deleted meanwhile by another request: as good.
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(err) => return Err(AppError::internal(err)),
    }
    visit.flash(Flash::new(format!(
        "The folder {} is deleted; its conversations are back on your list.",
        folder.name.as_str()
    )));
    Ok(Reply::Redirect("/"))
}
