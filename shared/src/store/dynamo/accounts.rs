//! Accounts: creation, reads, changes, and deletion (a tombstone, then a resumable purge).

use super::*;

impl AccountStore for DynamoStore {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        let item = to_item(&AccountItem::new(account))?;
        let Some(identity) = &account.identity else {
            return self.put_new(item).await;
        };
        let put_account = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_account).build())
            .transact_items(self.put_identity(identity, &account.username))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failures(&err).is_some_and(|f| f(0) || f(1)) => {
                Err(StoreError::Conflict)
            }
            Err(err) => Err(backend(err)),
        }
    }

    async fn create_account_with_invite(
        &self,
        account: &Account,
        invite_hash: &str,
        now: u64,
    ) -> StoreResult<()> {
        let use_invite = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(invite_pk(invite_hash), INVITE_SK)))
            .condition_expression("attribute_exists(PK) AND expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .build()
            .expect("table and key are set");
        let put_account = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&AccountItem::new(account))?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(use_invite).build())
            .transact_items(TransactWriteItem::builder().put(put_account).build())
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        match condition_failures(&err) {
            Some(failed) if failed(0) => Err(StoreError::InviteUnusable),
            Some(failed) if failed(1) => Err(StoreError::Conflict),
            _ => Err(backend(err)),
        }
    }

    async fn account(&self, username: &Username) -> StoreResult<Option<Account>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(username.as_str()), ACCOUNT_SK)))
            // A disabled account or a "sign out everywhere" must take effect at once.
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item.map(account_from_item).transpose()
    }

    async fn list_accounts(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Account>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(table::ACCOUNTS_INDEX)
            .expression_attribute_values(":accounts", s(ACCOUNTS_PARTITION))
            .limit((limit + 1) as i32);
        // DynamoDB refuses an empty string in a key condition: no "after" means no bound.
        let query = match after.filter(|a| !a.is_empty()) {
            Some(after) => query
                .key_condition_expression("GSI1PK = :accounts AND GSI1SK > :after")
                .expression_attribute_values(":after", s(after)),
            None => query.key_condition_expression("GSI1PK = :accounts"),
        };
        let output = query.send().await.map_err(backend)?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(account_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::of_accounts(items, limit))
    }

    async fn change_account(
        &self,
        username: &Username,
        change: &AccountChange,
    ) -> StoreResult<Account> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(username.as_str()), ACCOUNT_SK)))
            .condition_expression("attribute_exists(PK)")
            .return_values(ReturnValue::AllNew);
        let update = match change {
            AccountChange::Password(digest) => update
                .update_expression("SET password = :password ADD session_epoch :one")
                .expression_attribute_values(":password", s(digest.as_str()))
                .expression_attribute_values(":one", n(1)),
            AccountChange::Role(role) => update
                .update_expression("SET #role = :role")
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":role", s(role.as_str())),
            AccountChange::Disabled(true) => update
                .update_expression("SET disabled = :true ADD session_epoch :one")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":one", n(1)),
            AccountChange::Disabled(false) => update
                .update_expression("SET disabled = :false")
                .expression_attribute_values(":false", AttributeValue::Bool(false)),
            AccountChange::SignOutEverywhere => update
                .update_expression("ADD session_epoch :one")
                .expression_attribute_values(":one", n(1)),
            AccountChange::SpendCap(Some(cap)) => update
                .update_expression("SET spend_cap = :cap")
                .expression_attribute_values(":cap", n(cap.nanos())),
            AccountChange::SpendCap(None) => update.update_expression("REMOVE spend_cap"),
            // A string set: adding or deleting one id is atomic, whoever else changes it.
            AccountChange::JoinGroup(group) => update
                .update_expression("ADD member_of :group")
                .expression_attribute_values(
                    ":group",
                    AttributeValue::Ss(vec![group.as_str().to_string()]),
                ),
            AccountChange::LeaveGroup(group) => update
                .update_expression("DELETE member_of :group")
                .expression_attribute_values(
                    ":group",
                    AttributeValue::Ss(vec![group.as_str().to_string()]),
                ),
            AccountChange::Groups(groups) if groups.is_empty() => update
                .update_expression("REMOVE #groups")
                .expression_attribute_names("#groups", "groups"),
            AccountChange::Groups(groups) => update
                .update_expression("SET #groups = :groups")
                .expression_attribute_names("#groups", "groups")
                .expression_attribute_values(
                    ":groups",
                    AttributeValue::L(groups.names().iter().map(s).collect()),
                ),
        };
        match update.send().await {
            Ok(output) => account_from_item(output.attributes.unwrap_or_default()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::NotFound),
            Err(err) => Err(backend(err)),
        }
    }

    async fn begin_account_deletion(&self, username: &Username) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(username.as_str()), ACCOUNT_SK)))
            .update_expression("SET deleting = :true")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(backend(err)),
        }
    }

    async fn delete_account(&self, username: &Username) -> StoreResult<()> {
        // The tombstone first: from now on nothing new is written in the partition (every
        // write checks the account), so the purge below cannot be outrun, and an interrupted
        // deletion is finished by calling this again.
        self.begin_account_deletion(username).await?;
        self.unlink_identity(username).await?;
        let pk = user_pk(username.as_str());
        // Everything the user owns lives in their partition (plus the share links and API key
        // lookups it names):
        // query, delete, and query again until only the account is left.
        loop {
            let mut start = None;
            let mut deleted_any = false;
            loop {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk")
                    .expression_attribute_values(":pk", s(&pk))
                    .projection_expression("PK, SK, #share, key_hash")
                    .expression_attribute_names("#share", "share")
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(backend)?;
                let items = output.items.unwrap_or_default();
                let mut keys = Vec::new();
                for item in &items {
                    if let Some(token) = item.get("share").and_then(|v| v.as_s().ok()) {
                        keys.push(share_key(token));
                    }
                    // An API key's lookup by hash goes with it.
                    if let Some(hash) = item.get("key_hash").and_then(|v| v.as_s().ok()) {
                        keys.push(super::api_keys::lookup_key(hash));
                    }
                    let is_account = item
                        .get(table::SORT_KEY)
                        .and_then(|v| v.as_s().ok())
                        .is_some_and(|sk| sk == ACCOUNT_SK);
                    if !is_account {
                        keys.push(item_key(item));
                    }
                }
                deleted_any |= !keys.is_empty();
                self.delete_keys(&keys).await?;
                start = output.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
            if !deleted_any {
                break;
            }
        }
        // Last, the tombstone: the name is free once nothing of the account is left.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, ACCOUNT_SK)))
            .condition_expression("attribute_exists(deleting)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Gone already (a deletion that finished meanwhile).
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(backend(err)),
        }
    }
}
