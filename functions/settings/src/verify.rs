//! The account's password checked as a throttled attempt, as both password actions need.

use lambda_http::http::StatusCode;
use shared::accounts::Account;
use shared::form::FieldErrors;
use shared::throttle::Attempt;
use shared::{AppError, Visit};

use crate::handler::secret;

/// Checks the account's password as a throttled attempt (like a sign-in: a stolen session
/// must not be a way to guess the password), adding `field`'s error when it is refused or
/// wrong. The status for the page: 429 when throttled.
pub async fn check_password(
    visit: &Visit<'_>,
    account: &Account,
    password: &str,
    field: &'static str,
    wrong: &'static str,
    errors: &mut FieldErrors,
) -> Result<StatusCode, AppError> {
    let app = visit.app();
    let attempt = Attempt {
        account: account.username.as_str(),
        address: visit.address(),
        now: visit.now(),
    };
    let verified = app
        .config
        .throttle
        .verify_password(
            app.store().await?,
            attempt,
            &secret(password),
            Some(&account.password),
        )
        .await?;
    Ok(match verified {
        Ok(true) => StatusCode::BAD_REQUEST,
        Ok(false) => {
            errors.add(field, wrong);
            StatusCode::BAD_REQUEST
        }
        Err(throttled) => {
            errors.add(
                field,
                format!("Too many wrong passwords. {}", throttled.wait_message()),
            );
            StatusCode::TOO_MANY_REQUESTS
        }
    })
}
