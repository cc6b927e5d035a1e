//! Invites: single-use sign-up links, stored by their token's hash.

use super::*;

impl InviteStore for SqliteStore {
    async fn create_invite(&self, invite: &Invite) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO invites (token_hash, created_by, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    invite.token_hash,
                    invite.created_by.as_str(),
                    invite.created_at as i64,
                    invite.expires_at as i64
                ],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>> {
        self.with(|conn| {
            let row = conn
                .query_row(
                    "SELECT token_hash, created_by, created_at, expires_at FROM invites \
                     WHERE token_hash = ?1 AND expires_at > ?2",
                    params![token_hash, now as i64],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(backend)?;
            row.map(|(token_hash, created_by, created_at, expires_at)| {
                Ok(Invite {
                    token_hash,
                    created_by: Username::parse(&created_by)
                        .map_err(|e| StoreError::Corrupt(e.into()))?,
                    created_at: created_at as u64,
                    expires_at: expires_at as u64,
                })
            })
            .transpose()
        })
    }
}
