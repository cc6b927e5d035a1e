//! Identities: an item per linked subject (`IDENTITY#<hash>`) naming its account, written in
//! the same transaction as the account's own `issuer` and `subject`, and deleted with it.

use super::*;

impl IdentityStore for DynamoStore {
    async fn account_by_identity(&self, identity: &Identity) -> StoreResult<Option<Account>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(identity_key(identity)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(name) = output
            .item
            .as_ref()
            .and_then(|item| item.get("username"))
            .and_then(|v| v.as_s().ok())
        else {
            return Ok(None);
        };
        let username = Username::parse(name)
            .map_err(|e| StoreError::Corrupt(format!("identity link to `{name}`: {e}")))?;
        // The account must say the same: a link left by an interrupted deletion does not
        // open a later account that took the name.
        Ok(self
            .account(&username)
            .await?
            .filter(|account| account.identity.as_ref() == Some(identity)))
    }

    async fn link_identity(
        &self,
        username: &Username,
        identity: &Identity,
    ) -> StoreResult<Account> {
        let mark_account = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(username.as_str()), ACCOUNT_SK)))
            .update_expression("SET issuer = :issuer, subject = :subject")
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(deleting) \
                 AND attribute_not_exists(issuer)",
            )
            .expression_attribute_values(":issuer", s(identity.issuer()))
            .expression_attribute_values(":subject", s(identity.subject()))
            .build()
            .expect("table, key and update are set");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(mark_account).build())
            .transact_items(self.put_identity(identity, username))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(err) => match condition_failures(&err) {
                Some(failed) if failed(0) => {
                    let account = self.account(username).await?;
                    return Err(match account {
                        Some(account) if !account.deleting => StoreError::Conflict,
                        _ => StoreError::NotFound,
                    });
                }
                Some(failed) if failed(1) => return Err(StoreError::Conflict),
                _ => return Err(backend(err)),
            },
        }
        self.account(username).await?.ok_or(StoreError::NotFound)
    }
}

impl DynamoStore {
    /// A transaction's put of the identity's link to `username`, if no account has it yet.
    pub(super) fn put_identity(
        &self,
        identity: &Identity,
        username: &Username,
    ) -> TransactWriteItem {
        let mut item = identity_key(identity);
        item.insert("username".into(), s(username.as_str()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// Deletes the account's identity link, if it has one (its deletion's first step after
    /// the tombstone: the subject may sign up again once the account is going).
    pub(super) async fn unlink_identity(&self, username: &Username) -> StoreResult<()> {
        let Some(identity) = self.account(username).await?.and_then(|a| a.identity) else {
            return Ok(());
        };
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(identity_key(&identity)))
            .condition_expression("username = :username")
            .expression_attribute_values(":username", s(username.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(backend(err)),
        }
    }
}
