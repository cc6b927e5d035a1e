//! What replies cost: tokens and money per reply, the monthly totals a user's spend cap is
//! checked against, the estimate shown before sending, and the per-user send rate.
//!
//! Money is counted in whole nano-dollars (10⁻⁹ US dollars) so that totals add up exactly:
//! the catalogue's prices are dollars per million tokens, so a price with up to three
//! decimals is a whole number of nano-dollars per token.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ai::{Model, estimate_tokens};
use crate::conversations::Message;

/// An amount of US dollars, in nano-dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cost(u64);

const NANOS_PER_DOLLAR: u64 = 1_000_000_000;
/// The largest cap an administrator may set: far above any real monthly spend, and far
/// below where nano-dollars would overflow.
const MAX_CAP_DOLLARS: u64 = 1_000_000;

impl Cost {
    pub const ZERO: Cost = Cost(0);

    pub fn from_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    pub fn nanos(self) -> u64 {
        self.0
    }

    /// `tokens` at `price` dollars per million tokens, rounded to the nearest nano-dollar.
    pub fn of_tokens(tokens: u32, price_per_million: f64) -> Self {
        let nanos = f64::from(tokens) * price_per_million * 1000.0;
        Self(if nanos.is_finite() && nanos > 0.0 {
            nanos.round() as u64
        } else {
            0
        })
    }

    pub fn saturating_add(self, other: Cost) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// A cap as an administrator types it: dollars, with at most two decimals
    /// ("5", "12.50", "$0.75").
    pub fn parse_dollars(input: &str) -> Result<Self, &'static str> {
        const WRONG: &str = "Enter an amount in dollars, like 5 or 12.50.";
        let input = input.trim();
        let input = input.strip_prefix('$').unwrap_or(input).trim();
        let (whole, cents) = match input.split_once('.') {
            Some((whole, cents)) => (whole, cents),
            None => (input, ""),
        };
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(cents) || cents.len() > 2 {
            return Err(WRONG);
        }
        let whole: u64 = whole.parse().map_err(|_| WRONG)?;
        if whole > MAX_CAP_DOLLARS {
            return Err("That is more than the largest cap allowed ($1,000,000).");
        }
        let cents: u64 = format!("{cents:0<2}").parse().map_err(|_| WRONG)?;
        Ok(Self(
            whole * NANOS_PER_DOLLAR + cents * (NANOS_PER_DOLLAR / 100),
        ))
    }

    /// Dollars with two decimals, for a cap.
    pub fn dollars(self) -> String {
        let cents = (self.0 + NANOS_PER_DOLLAR / 200) / (NANOS_PER_DOLLAR / 100);
        format!("${}.{:02}", cents / 100, cents % 100)
    }
}

/// Dollars with enough decimals that a small cost is not shown as nothing: two for a dollar
/// or more, else four significant digits, at most nine decimals.
impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("$0.00");
        }
        if self.0 >= NANOS_PER_DOLLAR {
            return f.write_str(&self.dollars());
        }
        let dollars = self.0 as f64 / NANOS_PER_DOLLAR as f64;
        let decimals = (2 - dollars.log10().floor() as i32 + 1).clamp(2, 9) as usize;
        let text = format!("{dollars:.decimals$}");
        let text = text.trim_end_matches('0');
        let text = if text.ends_with('.') {
            format!("{text}00")
        } else if text.split_once('.').is_some_and(|(_, d)| d.len() < 2) {
            format!("{text}0")
        } else {
            text.to_string()
        };
        write!(f, "${text}")
    }
}

/// A calendar month in UTC, the period of usage totals and spend caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    year: u32,
    month: u32,
}

impl Month {
    /// The month that contains `epoch_seconds`.
    pub fn of(epoch_seconds: u64) -> Self {
        let (year, month, _) = crate::calendar::civil_date(epoch_seconds);
        Self {
            year: year as u32,
            month,
        }
    }

    /// How many days it has (28 to 31).
    pub fn days(self) -> u8 {
        match self.month {
            2 if self.year.is_multiple_of(4)
                && (!self.year.is_multiple_of(100) || self.year.is_multiple_of(400)) =>
            {
                29
            }
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// `2026-11`: how months are keyed in storage and in links.
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (year, month) = raw.split_once('-')?;
        let (year, month): (u32, u32) = (year.parse().ok()?, month.parse().ok()?);
        ((1970..=9999).contains(&year) && (1..=12).contains(&month) && raw.len() == 7)
            .then_some(Self { year, month })
    }

    /// `November 2026`.
    pub fn name(self) -> String {
        const NAMES: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        format!("{} {}", NAMES[(self.month - 1) as usize], self.year)
    }
}

/// Prompt tokens a provider's cache served or stored, and what reading from it saved
/// against the full input price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cached {
    pub read_tokens: u64,
    pub write_tokens: u64,
    pub saved: Cost,
}

impl Cached {
    /// A reply's cache use at `model`'s prices (cache reads at `cache_read_price` instead of
    /// `input_price`: the difference is what they saved).
    pub fn of(model: &Model, read: u32, write: u32) -> Self {
        let full = Cost::of_tokens(read, model.input_price);
        let paid = Cost::of_tokens(read, model.cache_read_price);
        Self {
            read_tokens: u64::from(read),
            write_tokens: u64::from(write),
            saved: Cost::from_nanos(full.nanos().saturating_sub(paid.nanos())),
        }
    }

    /// What the cached tokens cost at `model`'s cache prices.
    fn cost(&self, model: &Model) -> Cost {
        let tokens = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Cost::of_tokens(tokens(self.read_tokens), model.cache_read_price).saturating_add(
            Cost::of_tokens(tokens(self.write_tokens), model.cache_write_price),
        )
    }

    fn add(&mut self, other: &Cached) {
        self.read_tokens += other.read_tokens;
        self.write_tokens += other.write_tokens;
        self.saved = self.saved.saturating_add(other.saved);
    }
}

/// The usage line API calls are counted under (in place of a conversation's id), and what
/// the usage page calls it.
pub const API_USAGE: &str = "api";
pub const API_USAGE_TITLE: &str = "API (your keys)";

/// What one reply used, as recorded on the reply and added to the month's totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub month: Month,
    pub conversation: String,
    /// The conversation's title when the reply was written, so that the usage page can name
    /// it without reading every conversation.
    pub title: String,
    pub model: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub cost: Cost,
    /// Whether the tokens are our estimate (the provider sent no usage data).
    pub estimated: bool,
    /// Prompt tokens from or into the provider's cache (priced apart from `input_tokens`).
    pub cache: Cached,
    /// The groups whose month's totals the cost also counts in (at most
    /// `groups::MAX_COUNTED_GROUPS`).
    pub groups: Vec<crate::groups::GroupId>,
    /// The day of the month (UTC, 1 to 31) it is counted on.
    pub day: u8,
}

impl Charge {
    /// Fills in the reply's tokens (the provider's, or an estimate from `prompt_tokens` and
    /// the text, marked as such) and its cost from the model's prices, and returns what to
    /// add to the month's totals; `None` for a reply that failed before any text, which
    /// providers do not bill.
    pub fn of_reply(
        reply: &mut Message,
        model: &Model,
        prompt_tokens: u32,
        cache: Cached,
        (conversation, title): (&str, &str),
        now: u64,
    ) -> Option<Self> {
        let nothing_arrived =
            reply.text.is_empty() && reply.thinking.is_empty() && reply.output_tokens.is_none();
        if nothing_arrived && reply.input_tokens.is_none() {
            return None;
        }
        let estimated =
            model.is_offline() || reply.input_tokens.is_none() || reply.output_tokens.is_none();
        let input = reply.input_tokens.unwrap_or(prompt_tokens);
        // Thinking is output too, priced as such (providers count it in their output tokens).
        let output = reply.output_tokens.unwrap_or_else(|| {
            let thinking = if reply.thinking.is_empty() {
                0
            } else {
                estimate_tokens(&reply.thinking)
            };
            estimate_tokens(&reply.text) + thinking
        });
        let cost = Cost::of_tokens(input, model.input_price)
            .saturating_add(Cost::of_tokens(output, model.output_price))
            .saturating_add(cache.cost(model));
        reply.input_tokens = Some(input);
        reply.output_tokens = Some(output);
        reply.cost = Some(cost);
        reply.tokens_estimated = estimated;
        Some(Self {
            day: crate::calendar::civil_date(now).2 as u8,
            month: Month::of(now),
            conversation: conversation.to_string(),
            title: title.to_string(),
            model: model.id.clone(),
            input_tokens: input,
            output_tokens: output,
            cost,
            estimated,
            cache,
            groups: Vec::new(),
        })
    }
}

/// Tokens and cost added up over some replies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: Cost,
    pub replies: u64,
    /// How many of those replies' tokens were estimated.
    pub estimated_replies: u64,
    pub cache: Cached,
}

impl Totals {
    pub fn add(&mut self, charge: &Charge) {
        self.input_tokens += u64::from(charge.input_tokens);
        self.output_tokens += u64::from(charge.output_tokens);
        self.cost = self.cost.saturating_add(charge.cost);
        self.replies += 1;
        self.estimated_replies += u64::from(charge.estimated);
        self.cache.add(&charge.cache);
    }
}

/// One line of a usage report: a model or a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageLine {
    /// The model's or the conversation's id.
    pub id: String,
    /// The conversation's title (for models, the id again; the catalogue names them).
    pub label: String,
    pub totals: Totals,
}

/// A user's usage in one month.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageReport {
    pub total: Totals,
    /// Most expensive first.
    pub by_model: Vec<UsageLine>,
    /// Most expensive first.
    pub by_conversation: Vec<UsageLine>,
    /// Each day of the month that had replies (1 to 31), in order.
    pub by_day: Vec<(u8, Totals)>,
}

impl UsageReport {
    /// Orders the lines as the page shows them: most expensive, then most tokens, then id.
    pub(crate) fn sorted(mut self) -> Self {
        let order = |a: &UsageLine, b: &UsageLine| {
            b.totals
                .cost
                .cmp(&a.totals.cost)
                .then(
                    (b.totals.input_tokens + b.totals.output_tokens)
                        .cmp(&(a.totals.input_tokens + a.totals.output_tokens)),
                )
                .then(a.id.cmp(&b.id))
        };
        self.by_model.sort_by(order);
        self.by_conversation.sort_by(order);
        self.by_day.sort_by_key(|(day, _)| *day);
        self
    }
}

/// The spend cap a send is checked against: refused once the month's total has reached it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpendLimit {
    pub month: Month,
    pub cap: Cost,
}

/// A group's monthly cap a send is checked against: refused once the group's total for the
/// month has reached it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupLimit {
    pub group: crate::groups::GroupId,
    pub month: Month,
    pub cap: Cost,
}

/// The per-user send rate: at most `limit` sends in the fixed window starting at
/// `window_start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendRate {
    pub window_start: u64,
    pub window_seconds: u64,
    pub limit: u32,
}

impl SendRate {
    pub fn at(now: u64, window_seconds: u64, limit: u32) -> Self {
        Self {
            window_start: now - now % window_seconds,
            window_seconds,
            limit,
        }
    }

    pub fn expires_at(&self) -> u64 {
        self.window_start + self.window_seconds
    }
}

/// How many tokens a "typical reply" is taken to be when estimating the cost of a send, if
/// the conversation has no replies to go by.
pub const TYPICAL_REPLY_TOKENS: u32 = 400;

/// The cost of sending with `model`: `input_tokens` of context plus a reply of
/// `reply_tokens`.
pub fn estimate(model: &Model, input_tokens: u32, reply_tokens: u32) -> Cost {
    Cost::of_tokens(input_tokens, model.input_price).saturating_add(Cost::of_tokens(
        reply_tokens.min(model.max_output_tokens.max(1)),
        model.output_price,
    ))
}

/// A typical reply in this conversation: the mean of its replies' output tokens, or
/// `TYPICAL_REPLY_TOKENS`.
pub fn typical_reply_tokens(messages: &[Message]) -> u32 {
    let outputs: Vec<u32> = messages.iter().filter_map(|m| m.output_tokens).collect();
    if outputs.is_empty() {
        TYPICAL_REPLY_TOKENS
    } else {
        (outputs.iter().map(|&t| u64::from(t)).sum::<u64>() / outputs.len() as u64) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::Catalogue;
    use crate::conversations::MessageState;

    #[test]
    fn months_know_their_length() {
        assert_eq!(Month::parse("2024-02").unwrap().days(), 29);
        assert_eq!(Month::parse("2100-02").unwrap().days(), 28);
        assert_eq!(Month::parse("2000-02").unwrap().days(), 29);
        assert_eq!(Month::parse("2026-11").unwrap().days(), 30);
        assert_eq!(Month::parse("2026-12").unwrap().days(), 31);
    }

    #[test]
    fn costs_are_exact_in_nano_dollars() {
        assert_eq!(Cost::of_tokens(1_000_000, 0.15).nanos(), 150_000_000);
        assert_eq!(Cost::of_tokens(1, 0.15).nanos(), 150);
        assert_eq!(Cost::of_tokens(7, 0.075).nanos(), 525);
        assert_eq!(Cost::of_tokens(100, 0.0).nanos(), 0);
        assert_eq!(Cost::of_tokens(100, -1.0).nanos(), 0);
    }

    #[test]
    fn costs_display_without_hiding_small_amounts() {
        assert_eq!(Cost::ZERO.to_string(), "$0.00");
        assert_eq!(Cost::from_nanos(150).to_string(), "$0.00000015");
        assert_eq!(Cost::from_nanos(1_234_567).to_string(), "$0.001235");
        assert_eq!(Cost::from_nanos(120_000_000).to_string(), "$0.12");
        assert_eq!(Cost::from_nanos(5 * NANOS_PER_DOLLAR).to_string(), "$5.00");
        assert_eq!(Cost::from_nanos(1_999_999_999).dollars(), "$2.00");
    }

    #[test]
    fn caps_are_parsed_as_dollars_and_cents() {
        let nanos = |s: &str| Cost::parse_dollars(s).map(Cost::nanos);
        assert_eq!(nanos("5"), Ok(5 * NANOS_PER_DOLLAR));
        assert_eq!(nanos(" $12.5 "), Ok(12_500_000_000));
        assert_eq!(nanos("0.01"), Ok(10_000_000));
        assert_eq!(nanos("0"), Ok(0));
        for bad in ["", "-1", "1.234", "abc", "1e3", ".5", "1,000", "2000000"] {
            assert!(Cost::parse_dollars(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_follow_the_utc_calendar() {
        assert_eq!(Month::of(0).key(), "1970-01");
        // 2024-02-29T23:59:59Z and a second later.
        assert_eq!(Month::of(1_709_251_199).key(), "2024-02");
        assert_eq!(Month::of(1_709_251_200).key(), "2024-03");
        // 2026-12-31T23:59:59Z.
        assert_eq!(Month::of(1_798_761_599).key(), "2026-12");
        assert_eq!(Month::of(1_798_761_600).key(), "2027-01");
        assert_eq!(Month::parse("2027-01").unwrap().previous().key(), "2026-12");
        assert_eq!(Month::parse("2026-12").unwrap().next().key(), "2027-01");
        assert_eq!(Month::parse("2026-03").unwrap().next().key(), "2026-04");
        assert_eq!(Month::parse("2026-11").unwrap().name(), "November 2026");
        for bad in ["2026-13", "2026-00", "2026-1", "26-01", "x"] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn cached_prompt_tokens_cost_their_own_prices_and_say_what_they_saved() {
        let mut model = priced_model();
        model.cache_read_price = 0.2;
        model.cache_write_price = 2.5;
        let cache = Cached::of(&model, 1_000_000, 100_000);
        // A million read at $0.20 instead of $2.00: $1.80 saved.
        assert_eq!(cache.saved, Cost::parse_dollars("1.80").unwrap());
        let mut m = Message::pending_reply(1, "paid", "t", 0);
        m.text = "ok".into();
        m.input_tokens = Some(1_000);
        m.output_tokens = Some(100);
        let charge = Charge::of_reply(&mut m, &model, 0, cache, ("c", "T"), 0).unwrap();
        // 1,000 in at $2 + 100 out at $8 + 1M cache reads at $0.20 + 100k writes at $2.50.
        let expected = 1_000 * 2_000 + 100 * 8_000 + 200_000_000 + 250_000_000;
        assert_eq!(charge.cost, Cost::from_nanos(expected));
        assert_eq!(
            m.cost,
            Some(charge.cost),
            "the reply shows what it cost, cache and all"
        );
        let mut totals = Totals::default();
        totals.add(&charge);
        totals.add(&charge);
        assert_eq!(totals.cache.read_tokens, 2_000_000);
        assert_eq!(totals.cache.saved, Cost::parse_dollars("3.60").unwrap());
    }

    fn priced_model() -> Model {
        let catalogue = Catalogue::parse(
            r#"
            [[model]]
            id = "paid"
            name = "Paid"
            provider = "openai"
            upstream = "paid"
            base_url = "http://127.0.0.1:1/v1"
            context_tokens = 8000
            max_output_tokens = 1000
            input_price = 2.0
            output_price = 8.0
            "#,
        )
        .unwrap();
        catalogue.get("paid").unwrap().clone()
    }

    fn reply(text: &str) -> Message {
        let mut m = Message::pending_reply(1, "paid", "turn", 0);
        m.text = text.to_string();
        m.state = MessageState::Complete;
        m
    }

    #[test]
    fn a_reply_with_provider_usage_is_charged_at_the_catalogue_price() {
        let mut m = reply("hello");
        m.input_tokens = Some(1000);
        m.output_tokens = Some(500);
        let charge =
            Charge::of_reply(&mut m, &priced_model(), 7, Cached::default(), ("c", "T"), 0).unwrap();
        assert!(!charge.estimated);
        assert_eq!(charge.cost.nanos(), 1000 * 2000 + 500 * 8000);
        assert_eq!(m.cost, Some(charge.cost));
        assert!(!m.tokens_estimated);
        assert_eq!(charge.month.key(), "1970-01");
    }

    #[test]
    fn a_reply_without_usage_is_estimated_and_marked() {
        let mut m = reply("twelve bytes");
        let charge = Charge::of_reply(
            &mut m,
            &priced_model(),
            40,
            Cached::default(),
            ("c", "T"),
            0,
        )
        .unwrap();
        assert!(charge.estimated && m.tokens_estimated);
        assert_eq!((charge.input_tokens, charge.output_tokens), (40, 3 + 4));
        assert_eq!(m.input_tokens, Some(40));
    }

    #[test]
    fn a_reply_that_failed_before_any_text_costs_nothing() {
        let mut m = reply("");
        m.state = MessageState::Failed;
        assert_eq!(
            Charge::of_reply(
                &mut m,
                &priced_model(),
                40,
                Cached::default(),
                ("c", "T"),
                0
            ),
            None
        );
        assert_eq!(m.cost, None);
    }

    #[test]
    fn estimates_count_context_and_a_typical_reply() {
        let model = priced_model();
        assert_eq!(estimate(&model, 100, 400).nanos(), 100 * 2000 + 400 * 8000);
        // A reply is never taken as longer than the model may write.
        assert_eq!(estimate(&model, 0, 5000).nanos(), 1000 * 8000);
        let mut a = reply("a");
        a.output_tokens = Some(100);
        let mut b = reply("b");
        b.output_tokens = Some(300);
        assert_eq!(typical_reply_tokens(&[a, b]), 200);
        assert_eq!(typical_reply_tokens(&[]), TYPICAL_REPLY_TOKENS);
    }

    #[test]
    fn send_windows_are_fixed() {
        let rate = SendRate::at(125, 60, 3);
        assert_eq!(rate.window_start, 120);
        assert_eq!(rate.expires_at(), 180);
    }
}
