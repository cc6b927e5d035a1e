//! The OpenAI-compatible API: `GET /v1/models` (the models the key may use),
//! `GET /v1/models/{id}`, and `POST /v1/chat/completions` (whole, or streamed as server-sent
//! events). Callers present a personal API key as a bearer token: no cookies, so no CSRF, and
//! no CORS (browsers' pages cannot call it with their visitors' credentials). Every answer is
//! JSON (or events), errors in OpenAI's shape, made in one place (`respond`).

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::web::{request_id, streamed, whole};
use shared::{App, Streamed, session};

use crate::caller::{self, Caller};
use crate::completion::{self, Answer, Answered};
use crate::error::ApiError;
use crate::formats;
use crate::request::CompletionRequest;

enum Route {
    Models,
    Model(String),
    Completions,
}

impl Route {
    /// The route a path names, with or without the stage before `/v1/`.
    fn of(path: &str) -> Option<Self> {
        let (_, rest) = path.trim_end_matches('/').split_once("/v1/")?;
        match rest {
            "models" => Some(Route::Models),
            "chat/completions" => Some(Route::Completions),
            _ => rest
                .strip_prefix("models/")
                .filter(|id| !id.is_empty())
                .map(|id| Route::Model(id.to_string())),
        }
    }

    fn method(&self) -> (Method, &'static str) {
        match self {
            Route::Completions => (Method::POST, "POST"),
            _ => (Method::GET, "GET"),
        }
    }
}

pub async fn handle(app: &'static App, req: Request) -> Response<Streamed> {
    let id = request_id(&req);
    let outcome = route(app, &req).await;
    respond(outcome, &id)
}

async fn route(app: &'static App, req: &Request) -> Result<Answered, ApiError> {
    let route = Route::of(req.uri().path()).ok_or(ApiError::NoRoute)?;
    let (method, allow) = route.method();
    if req.method() != method {
        return Err(ApiError::MethodNotAllowed(allow));
    }
    let caller = caller::authenticate(app, req, session::now()).await?;
    let whole = |value| Answered {
        answer: Answer::Whole(value),
        conversation: None,
    };
    match route {
        Route::Models => Ok(whole(formats::model_list(&models(app, &caller)))),
        // A model the key may not use is not shown to it at all.
        Route::Model(id) => match caller.model(app, &id) {
            Ok(model) => Ok(whole(formats::model(model))),
            Err(_) => Err(ApiError::ModelNotFound(id)),
        },
        Route::Completions => {
            let request =
                CompletionRequest::parse(req.body().as_ref(), caller.key.keeps_conversations)?;
            completion::complete(app, caller, request).await
        }
    }
}

/// The models the caller's key may use, in the catalogue's order.
fn models<'a>(app: &'a App, caller: &Caller) -> Vec<&'a shared::ai::Model> {
    caller
        .limits
        .access
        .models(&app.config.models)
        .into_iter()
        .filter(|m| caller.may_use(m))
        .collect()
}

fn respond(outcome: Result<Answered, ApiError>, request_id: &str) -> Response<Streamed> {
    let err = match outcome {
        Ok(Answered {
            answer,
            conversation,
        }) => {
            let mut response = match answer {
                Answer::Whole(value) => json_response(StatusCode::OK, &value),
                Answer::Events(events) => {
                    let mut response = Response::new(streamed(events));
                    let headers = response.headers_mut();
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
                    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                    // Proxies must pass each chunk on at once.
                    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
                    response
                }
            };
            if let Some(id) = conversation.and_then(|id| HeaderValue::from_str(&id).ok()) {
                response
                    .headers_mut()
                    .insert("x-switchboard-conversation", id);
            }
            return finish(response, request_id);
        }
        Err(err) => err,
    };
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(request_id, status = status.as_u16(), cause = %err, "api call failed");
    } else {
        tracing::info!(request_id, status = status.as_u16(), cause = %err, "api call refused");
    }
    let mut response = json_response(status, &err.body());
    if let Some(seconds) = err.retry_after() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    finish(response, request_id)
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Streamed> {
    let mut response = Response::new(whole(Body::Text(value.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Headers every answer carries: the request id (to find its log), and no sniffing.
fn finish(mut response: Response<Streamed>, request_id: &str) -> Response<Streamed> {
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", id);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests;
