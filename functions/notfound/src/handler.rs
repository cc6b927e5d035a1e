//! Every path no other function serves: the 404 page.

use lambda_http::{Body, Request, Response};
use shared::{App, AppError, Reply, Visit, serve};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

async fn route(_: &mut Visit<'_>, _: &Request) -> Result<Reply, AppError> {
    Err(AppError::NotFound)
}

#[cfg(test)]
mod tests;
