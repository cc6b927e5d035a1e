//! Which account a sign-on opens: the one linked to its subject; else an existing account of
//! the same name, linked only when allowed and vouched for; else a new one, if the sign-up
//! policy lets this person in.

use shared::accounts::{Account, AccountChange, Role};
use shared::signup::SignupPolicy;
use shared::store::{AccountStore, IdentityStore, Store, StoreError};
use shared::{App, password};

use super::SignOnError;
use super::claims::SignOn;

/// How a sign-on came to its account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// Linked to the subject before.
    Linked,
    /// An existing account, linked now.
    NewlyLinked,
    /// Created now.
    Created,
}

pub async fn account_for(
    app: &App,
    store: &Store,
    sign_on: &SignOn,
    now: u64,
) -> Result<(Account, Found), SignOnError> {
    let (account, found) = match store.account_by_identity(&sign_on.identity).await? {
        Some(account) if !account.deleting => (account, Found::Linked),
        // Being deleted: as if there were none (its link goes with it).
        Some(_) => return Err(SignOnError::NoAccount(sign_on.username.as_str().into())),
        None => match store.account(&sign_on.username).await? {
            Some(existing) => (
                link(app, store, sign_on, existing).await?,
                Found::NewlyLinked,
            ),
            None => (create(app, store, sign_on, now).await?, Found::Created),
        },
    };
    let account = match &sign_on.groups {
        Some(groups) if *groups != account.groups => {
            store
                .change_account(&account.username, &AccountChange::Groups(groups.clone()))
                .await?
        }
        _ => account,
    };
    if account.disabled {
        return Err(SignOnError::Disabled);
    }
    Ok((account, found))
}

/// Links a password account to the provider's subject: only when the operator allows it, the
/// provider says the email address is verified, and it is the account's own address. Anything
/// else would let whoever controls a provider account of the same name take this one over.
async fn link(
    app: &App,
    store: &Store,
    sign_on: &SignOn,
    existing: Account,
) -> Result<Account, SignOnError> {
    let name = existing.username.as_str().to_string();
    let sso = app.config.sso.as_ref().ok_or(SignOnError::NotConfigured)?;
    let vouched = sign_on.email_verified
        && sign_on.email.is_some()
        && existing.email.as_ref() == sign_on.email.as_ref();
    if existing.deleting || existing.identity.is_some() || !sso.link_accounts || !vouched {
        tracing::warn!(
            user = name,
            linked_elsewhere = existing.identity.is_some(),
            linking_allowed = sso.link_accounts,
            email_verified = sign_on.email_verified,
            email_matches = existing.email.as_ref() == sign_on.email.as_ref(),
            "single sign-on refused: the username belongs to an account it may not open"
        );
        return Err(SignOnError::NameTaken(name));
    }
    match store
        .link_identity(&existing.username, &sign_on.identity)
        .await
    {
        Ok(account) => {
            tracing::info!(user = name, "linked an account to its identity provider");
            Ok(account)
        }
        Err(StoreError::Conflict | StoreError::NotFound) => Err(SignOnError::NameTaken(name)),
        Err(err) => Err(err.into()),
    }
}

/// Creates the account on a first sign-on, by the sign-up policy: only when sign-up is open,
/// and for a listed email domain only with an address the provider verified.
async fn create(
    app: &App,
    store: &Store,
    sign_on: &SignOn,
    now: u64,
) -> Result<Account, SignOnError> {
    let name = sign_on.username.as_str().to_string();
    let allowed = match &app.config.signup {
        SignupPolicy::Open { domains } if domains.is_empty() => true,
        SignupPolicy::Open { .. } => {
            sign_on.email_verified
                && sign_on
                    .email
                    .as_ref()
                    .is_some_and(|email| app.config.signup.allows_domain(email.domain()))
        }
        SignupPolicy::Closed | SignupPolicy::Invite => false,
    };
    if !allowed {
        tracing::info!(
            user = name,
            "single sign-on refused: sign-up does not admit them"
        );
        return Err(SignOnError::NoAccount(name));
    }
    // A configured admin's name stays theirs, to take with their password.
    if app.config.bootstrap_admins.find(&name).is_some() {
        return Err(SignOnError::NameTaken(name));
    }
    let mut account = Account::new(
        sign_on.username.clone(),
        sign_on.email.clone(),
        password::unusable(),
        Role::User,
        now,
    );
    account.identity = Some(sign_on.identity.clone());
    account.groups = sign_on.groups.clone().unwrap_or_default();
    match store.create_account(&account).await {
        Ok(()) => {
            tracing::info!(user = name, "created an account on first single sign-on");
            Ok(account)
        }
        // The same person's other tab won the race: use its account.
        Err(StoreError::Conflict) => match store.account_by_identity(&sign_on.identity).await? {
            Some(account) => Ok(account),
            None => Err(SignOnError::NameTaken(name)),
        },
        Err(err) => Err(err.into()),
    }
}
