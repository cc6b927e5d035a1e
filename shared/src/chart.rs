//! Bar charts drawn on the server as SVG, so they read without a script: this measures the
//! bars; the `bar_chart` macro in `templates/charts.html` draws them, each with a title a
//! screen reader reads, beside a table of the same figures.

use minijinja::{Value, context};

use crate::usage::Cost;

/// Where the bars start (after their labels), how long the longest is, and each row's height.
pub const LABEL_WIDTH: u32 = 190;
pub const BAR_WIDTH: u32 = 300;
pub const ROW_HEIGHT: u32 = 26;
/// The most characters of a label drawn (its whole text is in the bar's title).
const LABEL_CHARS: usize = 26;

/// A chart of `rows` (label, amount), largest first, at most `limit` bars.
pub fn bars(rows: &[(String, Cost)], limit: usize) -> Value {
    let mut rows: Vec<&(String, Cost)> = rows.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows.truncate(limit);
    let max = rows.first().map_or(0, |(_, cost)| cost.nanos());
    let bars: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, (label, cost))| {
            let short: String = if label.chars().count() > LABEL_CHARS {
                format!(
                    "{}…",
                    label.chars().take(LABEL_CHARS - 1).collect::<String>()
                )
            } else {
                label.clone()
            };
            context! {
                label => label,
                short => short,
                value => cost.to_string(),
                width => width(cost.nanos(), max),
                y => i as u32 * ROW_HEIGHT,
            }
        })
        .collect();
    context! {
        height => (bars.len() as u32).max(1) * ROW_HEIGHT,
        label_width => LABEL_WIDTH,
        bar_width => BAR_WIDTH,
        bars,
    }
}

/// A column chart of `columns` (label, amount), in the order given: one column each (the
/// days of a month), as tall as its amount against the largest.
pub fn columns(columns: &[(String, Cost)]) -> Value {
    let max = columns.iter().map(|(_, c)| c.nanos()).max().unwrap_or(0);
    let cols: Vec<Value> = columns
        .iter()
        .enumerate()
        .map(|(i, (label, cost))| {
            let height = width(cost.nanos(), max) * COLUMN_HEIGHT / BAR_WIDTH;
            let height = if cost.nanos() > 0 { height.max(1) } else { 0 };
            context! {
                label => label,
                value => cost.to_string(),
                x => i as u32 * COLUMN_WIDTH,
                y => COLUMN_HEIGHT - height,
                height => height,
            }
        })
        .collect();
    context! {
        width => (cols.len() as u32).max(1) * COLUMN_WIDTH,
        height => COLUMN_HEIGHT,
        column_width => COLUMN_WIDTH - 4,
        max => Cost::from_nanos(max).to_string(),
        columns => cols,
    }
}

/// A column chart's plot height and each column's width (with its gap).
pub const COLUMN_HEIGHT: u32 = 120;
pub const COLUMN_WIDTH: u32 = 16;

/// A bar's length: in proportion to the largest, and never invisible for a non-zero amount.
fn width(value: u64, max: u64) -> u32 {
    if value == 0 || max == 0 {
        return 0;
    }
    let scaled = (u128::from(value) * u128::from(BAR_WIDTH) / u128::from(max)) as u32;
    scaled.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_in_proportion_largest_first_and_bounded() {
        let rows = vec![
            ("small".to_string(), Cost::from_nanos(1)),
            ("big".to_string(), Cost::from_nanos(1_000_000)),
            ("half".to_string(), Cost::from_nanos(500_000)),
            ("none".to_string(), Cost::ZERO),
        ];
        let chart = bars(&rows, 3);
        let bars: Vec<Value> = chart
            .get_attr("bars")
            .unwrap()
            .try_iter()
            .unwrap()
            .collect();
        let field = |i: usize, name: &str| bars[i].get_attr(name).unwrap().to_string();
        assert_eq!(bars.len(), 3, "at most the limit");
        assert_eq!(
            (field(0, "label"), field(0, "width")),
            ("big".into(), BAR_WIDTH.to_string())
        );
        assert_eq!(field(1, "width"), (BAR_WIDTH / 2).to_string());
        assert_eq!(field(2, "width"), "1", "tiny but visible");
        assert_eq!(field(1, "y"), ROW_HEIGHT.to_string());
        let long = bars_of_one(&"x".repeat(40));
        assert_eq!(long.chars().count(), LABEL_CHARS);
        assert!(long.ends_with('…'));
    }

    fn bars_of_one(label: &str) -> String {
        let chart = bars(&[(label.to_string(), Cost::from_nanos(5))], 5);
        let bar = chart
            .get_attr("bars")
            .unwrap()
            .get_item_by_index(0)
            .unwrap();
        bar.get_attr("short").unwrap().to_string()
    }

    #[test]
    fn columns_keep_their_order_and_scale_to_the_tallest() {
        let days = vec![
            ("1".to_string(), Cost::ZERO),
            ("2".to_string(), Cost::from_nanos(10)),
            ("3".to_string(), Cost::from_nanos(5)),
        ];
        let chart = columns(&days);
        let cols: Vec<Value> = chart
            .get_attr("columns")
            .unwrap()
            .try_iter()
            .unwrap()
            .collect();
        let field = |i: usize, name: &str| cols[i].get_attr(name).unwrap().to_string();
        assert_eq!(field(0, "height"), "0");
        assert_eq!(field(1, "height"), COLUMN_HEIGHT.to_string());
        assert_eq!(field(2, "height"), (COLUMN_HEIGHT / 2).to_string());
        assert_eq!(field(2, "x"), (2 * COLUMN_WIDTH).to_string());
        assert_eq!(field(1, "y"), "0");
    }

    #[test]
    fn an_empty_chart_has_room_for_its_message() {
        let chart = bars(&[], 10);
        assert_eq!(
            chart.get_attr("height").unwrap().to_string(),
            ROW_HEIGHT.to_string()
        );
    }
}
