//! Usage: replies' tokens and costs by month, spend caps, the send counter.

use super::*;
use crate::limits::SendLimits;

pub(super) const DEFAULT_CAP_SETTING: &str = "default_spend_cap";

pub(super) fn read_default_cap(conn: &Connection) -> StoreResult<Option<Cost>> {
    conn.query_row(
        "SELECT value FROM settings WHERE name = ?1",
        [DEFAULT_CAP_SETTING],
        |row| row.get::<_, Option<i64>>(0),
    )
    .optional()
    .map(|v| v.flatten().map(|c| Cost::from_nanos(c as u64)))
    .map_err(backend)
}

/// The settings row that is present (1) while the portal's API is off.
pub(super) const API_OFF_SETTING: &str = "api_off";

pub(super) fn read_api_enabled(conn: &Connection) -> StoreResult<bool> {
    conn.query_row(
        "SELECT value FROM settings WHERE name = ?1",
        [API_OFF_SETTING],
        |row| row.get::<_, Option<i64>>(0),
    )
    .optional()
    .map(|v| v.flatten() != Some(1))
    .map_err(backend)
}

pub(super) fn month_total(tx: &Transaction, owner: &str, month: Month) -> StoreResult<Totals> {
    tx.query_row(
        &format!(
            "SELECT {TOTALS_COLUMNS} FROM usage \
             WHERE owner = ?1 AND month = ?2 AND kind = 'T' AND id = ''"
        ),
        params![owner, month.key()],
        |row| totals_from_row(row, 0),
    )
    .optional()
    .map(Option::unwrap_or_default)
    .map_err(backend)
}

/// Counts one send in the rate's window, or refuses it once the window is full.
pub(super) fn count_send(tx: &Transaction, owner: &Username, rate: &SendRate) -> StoreResult<()> {
    let key = ThrottleKey::Sends(owner.as_str().to_string()).storage_key();
    tx.execute(
        "DELETE FROM throttle WHERE expires_at < ?1",
        [rate.window_start as i64],
    )
    .map_err(backend)?;
    let sent: u32 = tx
        .query_row(
            "SELECT failures FROM throttle WHERE key = ?1 AND window_start = ?2",
            params![key, rate.window_start as i64],
            |row| row.get(0),
        )
        .optional()
        .map_err(backend)?
        .unwrap_or(0);
    if sent >= rate.limit {
        return Err(StoreError::RateLimited);
    }
    tx.execute(
        "INSERT INTO throttle (key, window_start, failures, expires_at) VALUES (?1, ?2, 1, ?3) \
         ON CONFLICT (key, window_start) DO UPDATE SET failures = failures + 1",
        params![key, rate.window_start as i64, rate.expires_at() as i64],
    )
    .map_err(backend)?;
    Ok(())
}

/// Checks a send against `limits` and counts it against the rate, inside the caller's
/// transaction.
pub(super) fn check_limits(
    tx: &Transaction,
    owner: &Username,
    limits: &SendLimits,
) -> StoreResult<()> {
    if let Some(limit) = &limits.spend_limit {
        let spent = month_total(tx, owner.as_str(), limit.month)?.cost;
        if spent >= limit.cap {
            return Err(StoreError::SpendCapReached);
        }
    }
    for limit in &limits.group_limits {
        let spent = super::groups::group_month_spend(tx, &limit.group, limit.month)?;
        if spent >= limit.cap {
            return Err(StoreError::GroupCapReached(limit.group.clone()));
        }
    }
    if let Some(rate) = &limits.rate {
        count_send(tx, owner, rate)?;
    }
    Ok(())
}

pub(super) fn add_usage(tx: &Transaction, owner: &Username, charge: &Charge) -> StoreResult<()> {
    for group in charge.groups.iter().take(crate::groups::MAX_COUNTED_GROUPS) {
        tx.execute(
            "INSERT INTO group_spend (group_id, month, cost, replies) VALUES (?1, ?2, ?3, 1) \
             ON CONFLICT (group_id, month) DO UPDATE SET cost = cost + excluded.cost, \
             replies = replies + 1",
            params![
                group.as_str(),
                charge.month.key(),
                charge.cost.nanos() as i64
            ],
        )
        .map_err(backend)?;
    }
    let day = format!("{:02}", charge.day);
    let lines = [
        ("T", "", ""),
        ("M", charge.model.as_str(), charge.model.as_str()),
        ("C", charge.conversation.as_str(), charge.title.as_str()),
        ("D", day.as_str(), ""),
    ];
    for (kind, id, label) in lines {
        tx.execute(
            &format!(
                "INSERT INTO usage (owner, month, kind, id, label, {TOTALS_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (owner, month, kind, id) DO UPDATE SET label = excluded.label, \
                 input_tokens = input_tokens + excluded.input_tokens, \
                 output_tokens = output_tokens + excluded.output_tokens, \
                 cost = cost + excluded.cost, replies = replies + 1, \
                 estimated_replies = estimated_replies + excluded.estimated_replies, \
                 cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, \
                 cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, \
                 cache_saved = cache_saved + excluded.cache_saved"
            ),
            params![
                owner.as_str(),
                charge.month.key(),
                kind,
                id,
                label,
                charge.input_tokens,
                charge.output_tokens,
                charge.cost.nanos() as i64,
                charge.estimated,
                charge.cache.read_tokens as i64,
                charge.cache.write_tokens as i64,
                charge.cache.saved.nanos() as i64,
            ],
        )
        .map_err(backend)?;
    }
    Ok(())
}

impl UsageStore for SqliteStore {
    async fn reserve_send(&self, owner: &Username, limits: &SendLimits) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_live_account(&tx, owner)?;
            check_limits(&tx, owner, limits)?;
            tx.commit().map_err(backend)
        })
    }

    async fn record_usage(&self, owner: &Username, charge: &Charge) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_live_account(&tx, owner)?;
            add_usage(&tx, owner, charge)?;
            tx.commit().map_err(backend)
        })
    }

    async fn usage(&self, owner: &Username, month: Month) -> StoreResult<UsageReport> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT kind, id, label, {TOTALS_COLUMNS} FROM usage \
                     WHERE owner = ?1 AND month = ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![owner.as_str(), month.key()], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        UsageLine {
                            id: row.get(1)?,
                            label: row.get(2)?,
                            totals: totals_from_row(row, 3)?,
                        },
                    ))
                })
                .map_err(backend)?;
            let mut report = UsageReport::default();
            for row in rows {
                let (kind, line) = row.map_err(backend)?;
                match kind.as_str() {
                    "T" => report.total = line.totals,
                    "M" => report.by_model.push(line),
                    "C" => report.by_conversation.push(line),
                    "D" => {
                        let day = line
                            .id
                            .parse()
                            .map_err(|_| StoreError::Corrupt(format!("usage day {}", line.id)))?;
                        report.by_day.push((day, line.totals));
                    }
                    other => return Err(StoreError::Corrupt(format!("usage kind {other}"))),
                }
            }
            Ok(report.sorted())
        })
    }

    async fn spend_between(
        &self,
        month: Month,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<(String, Totals)>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT owner, {TOTALS_COLUMNS} FROM usage \
                     WHERE month = ?1 AND kind = 'T' AND owner BETWEEN ?2 AND ?3 ORDER BY owner"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![month.key(), first, last], |row| {
                    Ok((row.get::<_, String>(0)?, totals_from_row(row, 1)?))
                })
                .map_err(backend)?;
            collect(rows, Ok)
        })
    }

    async fn model_spend(&self, month: Month) -> StoreResult<Vec<(String, Totals)>> {
        let sums = TOTALS_COLUMNS
            .split(',')
            .map(|column| format!("SUM({})", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT id, {sums} FROM usage WHERE month = ?1 AND kind = 'M' \
                     GROUP BY id ORDER BY id"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![month.key()], |row| {
                    Ok((row.get::<_, String>(0)?, totals_from_row(row, 1)?))
                })
                .map_err(backend)?;
            collect(rows, Ok)
        })
    }

    async fn default_spend_cap(&self) -> StoreResult<Option<Cost>> {
        self.with(|conn| read_default_cap(conn))
    }

    async fn set_default_spend_cap(&self, cap: Option<Cost>) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![DEFAULT_CAP_SETTING, cap.map(|c| c.nanos() as i64)],
            )
            .map_err(backend)?;
            Ok(())
        })
    }
}
