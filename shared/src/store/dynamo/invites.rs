//! Invites: single-use sign-up links, stored by their token's hash.

use super::*;

#[derive(Serialize, Deserialize)]
pub(super) struct InviteItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    pub(super) created_by: String,
    pub(super) created_at: u64,
    pub(super) expires_at: u64,
}

impl InviteStore for DynamoStore {
    async fn create_invite(&self, invite: &Invite) -> StoreResult<()> {
        let item = InviteItem {
            pk: invite_pk(&invite.token_hash),
            sk: INVITE_SK.into(),
            created_by: invite.created_by.as_str().into(),
            created_at: invite.created_at,
            expires_at: invite.expires_at,
        };
        self.put_new(to_item(&item)?).await
    }

    async fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(invite_pk(token_hash), INVITE_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let item: InviteItem =
            serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // TTL deletion lags by up to days: expiry is checked here too.
        if item.expires_at <= now {
            return Ok(None);
        }
        Ok(Some(Invite {
            token_hash: token_hash.to_string(),
            created_by: Username::parse(&item.created_by)
                .map_err(|e| StoreError::Corrupt(e.into()))?,
            created_at: item.created_at,
            expires_at: item.expires_at,
        }))
    }
}
