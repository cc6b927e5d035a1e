//! Dates in UTC from epoch seconds, for display and for monthly usage periods.

/// The UTC date `(year, month, day)` of `epoch_seconds` (Howard Hinnant's civil-from-days,
/// for the proleptic Gregorian calendar).
pub fn civil_date(epoch_seconds: u64) -> (i64, u32, u32) {
    let z = (epoch_seconds / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
