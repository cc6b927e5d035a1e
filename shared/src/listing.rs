//! The user's conversations as the home page lists them: by recent activity, or those
//! matching a search, a page at a time, with the models a new conversation can use.

use minijinja::{Value, context};

use crate::App;
use crate::AppError;
use crate::ai::Catalogue;
use crate::conversations::{Conversation, ConversationId, Shelf};
use crate::folders::Folder;
use crate::groups::ModelAccess;
use crate::store::{ActivityCursor, ConversationStore, FolderStore, Page};
use crate::users::Username;
use crate::{estimate, usage};

pub const PAGE_SIZE: usize = 20;
/// The most pinned conversations the home page lists above the others.
pub const MAX_PINNED: usize = 50;
const MAX_QUERY_CHARS: usize = 200;

/// The display name of a model id, or the id itself when the catalogue no longer lists it.
pub fn model_name(catalogue: &Catalogue, id: &str) -> String {
    catalogue
        .get(id)
        .map_or_else(|| id.to_string(), |m| m.name.clone())
}

/// The models a user can pick (those `access` allows), for a `<select>`, with the prices the
/// cost estimate uses.
pub fn models(catalogue: &Catalogue, access: &ModelAccess) -> Value {
    access
        .models(catalogue)
        .into_iter()
        .map(|m| {
            context! {
                id => &m.id,
                name => &m.name,
                input_price => m.input_price,
                output_price => m.output_price,
                max_output_tokens => m.max_output_tokens,
            }
        })
        .collect()
}

/// Which conversations a home page lists: a shelf's, or a folder's.
#[derive(Clone, Copy, Debug)]
pub enum Listing<'a> {
    Shelf(Shelf),
    Folder(&'a Folder),
}

/// The home page's context: the conversation list (or search results), the owner's folders,
/// and the new conversation form's choices (the models `access` allows; in a folder, its
/// default model and system prompt). `after` is the page link's cursor. The recent list's
/// first page comes with the pinned conversations; everything is read at the same time.
pub async fn home(
    app: &App,
    owner: &Username,
    query: Option<&str>,
    after: Option<&str>,
    access: &ModelAccess,
    listing: Listing<'_>,
) -> Result<Value, AppError> {
    let shelf = match listing {
        Listing::Shelf(shelf) => Some(shelf),
        Listing::Folder(_) => None,
    };
    let store = app.store().await?;
    let query = query
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| q.chars().take(MAX_QUERY_CHARS).collect::<String>());
    let bad_link = || AppError::BadRequest("That page link is not valid.");
    // The pinned ones head the recent list's first page; read at the same time as it.
    let with_pinned = query.is_none() && after.is_none() && shelf == Some(Shelf::Recent);
    let pinned = async {
        if with_pinned {
            store
                .list_shelf(owner, Shelf::Pinned, None, MAX_PINNED)
                .await
                .map(|p| p.items)
        } else {
            Ok(Vec::new())
        }
    };
    let listed = async {
        let page: Page<Conversation> = match &query {
            Some(q) => {
                let after = after
                    .map(|a| ConversationId::parse(a).ok_or_else(bad_link))
                    .transpose()?;
                let mut page = store
                    .search_conversations(owner, q, after.as_ref(), PAGE_SIZE)
                    .await?;
                page.items.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
                page
            }
            None => {
                let after = after
                    .map(|a| ActivityCursor::parse(a).ok_or_else(bad_link))
                    .transpose()?;
                match listing {
                    Listing::Shelf(shelf) => {
                        store
                            .list_shelf(owner, shelf, after.as_ref(), PAGE_SIZE)
                            .await?
                    }
                    Listing::Folder(folder) => {
                        store
                            .list_folder(owner, &folder.id, after.as_ref(), PAGE_SIZE)
                            .await?
                    }
                }
            }
        };
        Ok::<_, AppError>(page)
    };
    let (pinned, page, folders) = tokio::join!(pinned, listed, store.folders(owner));
    let (pinned, page, folders) = (pinned?, page?, folders?);
    let catalogue = &app.config.models;
    let row = |c: &Conversation| {
        context! {
            id => c.id.as_str(),
            title => &c.title,
            model_name => model_name(catalogue, &c.model),
            updated_at => c.updated_at,
        }
    };
    let pinned: Vec<Value> = pinned.iter().map(row).collect();
    let conversations: Vec<Value> = page.items.iter().map(row).collect();
    let first = access.models(catalogue).first().map(|m| m.id.clone());
    let (folder, default_model, system) = match listing {
        Listing::Folder(f) => (
            Some(context! {
                id => f.id.as_str(), name => f.name.as_str(), model => &f.model, system => &f.system,
            }),
            // A folder's model, if its owner may (still) use it.
            f.model.clone().filter(|m| access.allows(m)).or(first),
            f.system.clone().unwrap_or_default(),
        ),
        Listing::Shelf(_) => (None, first, String::new()),
    };
    Ok(context! {
        conversations,
        pinned,
        next => page.next,
        query,
        archived => shelf == Some(Shelf::Archived),
        folder,
        folders => folders.iter().map(|f| context! { id => f.id.as_str(), name => f.name.as_str() }).collect::<Vec<_>>(),
        max_folders => crate::folders::MAX_FOLDERS,
        models => models(catalogue, access),
        estimate => new_conversation_estimate(catalogue, default_model.as_deref().unwrap_or(""), &system, ""),
        default_model,
        default_system => system,
    })
}

/// The cost estimate of the new-conversation form: the system prompt and the message alone.
pub fn new_conversation_estimate(
    catalogue: &Catalogue,
    model: &str,
    system: &str,
    message: &str,
) -> Value {
    let system_tokens = if system.trim().is_empty() {
        0
    } else {
        crate::ai::estimate_tokens(system)
    };
    estimate::view(
        catalogue,
        model,
        crate::ai::estimate_tokens("") + system_tokens,
        message,
        usage::TYPICAL_REPLY_TOKENS,
    )
}
