//! Sessions: what a signed-in request reads, and sessions ended by signing out.

use super::*;

impl SessionStore for DynamoStore {
    async fn revoke_session(
        &self,
        owner: &Username,
        session: &SessionId,
        expires_at: u64,
    ) -> StoreResult<()> {
        let mut item = key(user_pk(owner.as_str()), revoked_session_sk(session));
        item.insert(table::TTL_ATTRIBUTE.into(), n(expires_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn signed_in(
        &self,
        owner: &Username,
        session: &SessionId,
        extras: Extras,
    ) -> StoreResult<SignedIn> {
        let account_key = key(user_pk(owner.as_str()), ACCOUNT_SK);
        let session_key = key(user_pk(owner.as_str()), revoked_session_sk(session));
        let cap_key = key(SETTINGS_PK.into(), SPEND_CAP_SK);
        let groups_key = groups::groups_key();
        let mut keys = vec![account_key.clone(), session_key.clone()];
        if extras.default_spend_cap {
            keys.push(cap_key);
        }
        if extras.groups {
            keys.push(groups_key.clone());
        }
        // One consistent batch read: a sign-out, a disable or "sign out everywhere" applies
        // at once.
        let mut signed_in = SignedIn {
            account: None,
            revoked: false,
            default_spend_cap: extras.default_spend_cap.then_some(None),
            api_enabled: extras.default_spend_cap.then_some(true),
            groups: extras.groups.then(Default::default),
        };
        for item in self.get_batch(keys, None).await? {
            let found = item_key(&item);
            if found == account_key {
                signed_in.account = Some(account_from_item(item)?);
            } else if found == session_key {
                signed_in.revoked = true;
            } else if found == groups_key {
                signed_in.groups = Some(groups::groups_from_item(&item)?);
            } else {
                signed_in.default_spend_cap = Some(spend_cap_from_item(&item));
                signed_in.api_enabled = Some(api_enabled_in_item(&item));
            }
        }
        Ok(signed_in)
    }
}
