//! `GET /share/{token}`: a conversation its owner shared, read-only, for anyone with the link
//! and signed in or not. It shows the conversation's title and messages and nothing else of
//! the owner's (not even their name); a link that was never issued, was revoked or whose
//! conversation was deleted is a 404.

use lambda_http::{Body, Request, Response};
use minijinja::context;
use serde::Deserialize;
use shared::conversations::HISTORY_PAGE;
use shared::store::{AccountStore, ConversationStore, ShareStore};
use shared::web::{path_parameter, query};
use shared::{App, AppError, Methods, Reply, Visit, serve, transcript};

/// A link token is 43 characters of base64url (256 bits).
const TOKEN_CHARS: usize = 43;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

#[derive(Deserialize)]
struct ShareQuery {
    /// Earlier messages: those before this sequence number.
    before: Option<u32>,
}

fn token(req: &Request) -> Option<String> {
    let raw = path_parameter(req, "token", "/share/")?;
    let valid = raw.len() == TOKEN_CHARS
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(raw)
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Get.of(req)?;
    let token = token(req).ok_or(AppError::NotFound)?;
    let before = query::<ShareQuery>(req)?.before;
    let app = visit.app();
    let store = app.store().await?;
    let shared = store
        .shared(&token)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotFound)?;
    // The owner and the conversation, read at once: a disabled owner's links stop answering
    // (while disabled), as their sign-ins do.
    let (owner, found) = tokio::join!(
        store.account(&shared.owner),
        store.conversation(&shared.owner, &shared.id, HISTORY_PAGE)
    );
    if !owner?.is_some_and(|owner| !owner.disabled && !owner.deleting) {
        return Err(AppError::NotFound);
    }
    let (conversation, latest) = found?.ok_or(AppError::NotFound)?;
    // The link must still be the conversation's own (not one revoked meanwhile).
    if conversation.share.as_deref() != Some(token.as_str()) {
        return Err(AppError::NotFound);
    }
    let messages = match before {
        None => latest,
        Some(before) => store
            .messages_before(&shared.owner, &shared.id, before, HISTORY_PAGE)
            .await
            .map_err(AppError::internal)?,
    };
    let now = visit.now();
    Ok(Reply::page(
        "share.html",
        context! {
            title => &conversation.title,
            token,
            messages => transcript::messages(app, &messages, now),
            live => transcript::live(app, &messages, now),
            earlier => messages.first().map(|m| m.seq).filter(|seq| *seq > 0),
            older_page => before.is_some(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use lambda_http::http::Method;
    use lambda_http::http::StatusCode;
    use shared::accounts::Role;
    use shared::conversations::{Conversation, Message, MessageState, MessageText, Title};
    use shared::link_tokens;
    use shared::store::TurnWrite;
    use shared::testing::{self, body_text, request, with_cookie};

    use super::*;

    async fn shared_conversation(app: &App) -> (shared::accounts::Account, Conversation, String) {
        let ann = testing::create_account(app, "sharer", Role::User, "pw").await;
        let store = app.store().await.unwrap();
        let c = Conversation::new(
            Title::parse("Holiday plans").unwrap(),
            "offline".into(),
            None,
            1,
        );
        store.create_conversation(&ann.username, &c).await.unwrap();
        let question = Message::user(0, &MessageText::parse("Where to go?").unwrap(), "t", 2);
        let mut answer = Message::pending_reply(1, "offline", "t", 2);
        answer.text = "Somewhere **warm**. <script>alert(1)</script>".into();
        answer.state = MessageState::Complete;
        let messages = [question, answer];
        let write = TurnWrite {
            expected_next_seq: 0,
            next_seq: 2,
            model: "offline",
            messages: &messages,
            now: 3,
            spend_limit: None,
            rate: None,
        };
        store
            .write_turn(&ann.username, &c.id, &write)
            .await
            .unwrap();
        let (token, _) = link_tokens::generate();
        store
            .share_conversation(&ann.username, &c.id, &token)
            .await
            .unwrap();
        (ann, c, token)
    }

    #[tokio::test]
    async fn anyone_with_the_link_reads_the_conversation_and_nothing_else() {
        let app = testing::app();
        let (ann, _, token) = shared_conversation(&app).await;
        let response = handle(&app, request(Method::GET, &format!("/share/{token}"))).await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = body_text(&response);
        assert!(html.contains("Holiday plans"), "{html}");
        assert!(html.contains("Where to go?"), "{html}");
        assert!(html.contains("Somewhere <strong>warm</strong>."), "{html}");
        assert!(!html.contains("<script>alert(1)"), "sanitised: {html}");
        assert!(
            !html.contains(ann.username.as_str()),
            "the owner stays anonymous"
        );
        assert!(!html.contains("<form method=\"post\""), "read-only: {html}");
        assert!(html.contains("noindex"), "{html}");

        // Signed in as someone else: the same page, and still nothing of the owner's.
        let bob = testing::create_account(&app, "reader", Role::User, "pw").await;
        let (cookie, _) = testing::sign_in(&app, &bob).await;
        let response = handle(
            &app,
            with_cookie(request(Method::GET, &format!("/share/{token}")), &cookie),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!body_text(&response).contains(ann.username.as_str()));
    }

    #[tokio::test]
    async fn a_disabled_owners_links_stop_answering_while_disabled() {
        use shared::accounts::AccountChange;
        let app = testing::app();
        let (ann, _, token) = shared_conversation(&app).await;
        let store = app.store().await.unwrap();
        let path = format!("/share/{token}");
        for (disabled, status) in [(true, StatusCode::NOT_FOUND), (false, StatusCode::OK)] {
            store
                .change_account(&ann.username, &AccountChange::Disabled(disabled))
                .await
                .unwrap();
            let response = handle(&app, request(Method::GET, &path)).await;
            assert_eq!(response.status(), status, "disabled: {disabled}");
        }
    }

    #[tokio::test]
    async fn revoked_unknown_and_malformed_links_are_not_found() {
        let app = testing::app();
        let (ann, c, token) = shared_conversation(&app).await;
        let store = app.store().await.unwrap();
        store
            .unshare_conversation(&ann.username, &c.id)
            .await
            .unwrap();
        for path in [
            format!("/share/{token}"),
            format!("/share/{}", link_tokens::generate().0),
            "/share/short".to_string(),
            format!("/share/{}", "!".repeat(43)),
        ] {
            let response = handle(&app, request(Method::GET, &path)).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let (token, _) = link_tokens::generate();
        store
            .share_conversation(&ann.username, &c.id, &token)
            .await
            .unwrap();
        store
            .delete_conversation(&ann.username, &c.id)
            .await
            .unwrap();
        let response = handle(&app, request(Method::GET, &format!("/share/{token}"))).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "deleted");
        let post = handle(&app, request(Method::POST, &format!("/share/{token}"))).await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
