//! Charts drawn on the server as inline SVG: stacked bars over a run of days or hours, each
//! with its numbers as a table for screen readers and for anyone who wants the figures.
//! Rendered by the `_bar_chart.html` partial.

/// How many series a chart colours apart; more are folded into the last, "Other".
pub const PALETTE: usize = 6;

/// One series of a chart: a label and a value per column.
pub struct Series {
    pub label: String,
    pub values: Vec<i64>,
}

impl Series {
    pub fn new(label: impl Into<String>, values: Vec<i64>) -> Self {
        Self {
            label: label.into(),
            values,
        }
    }
}

/// One series' part of a column, in the drawing's units (100 high).
pub struct Segment {
    /// `series-1` … `series-6`.
    pub class: String,
    pub y: i64,
    pub h: i64,
}

/// One column of a chart: its label, its segments bottom up, and its values in words.
pub struct Column {
    pub label: String,
    pub x: i64,
    pub title: String,
    pub segments: Vec<Segment>,
    pub values: Vec<i64>,
    pub total: i64,
}

/// A key of the legend: a series' colour, label and sum over the columns.
pub struct Key {
    pub class: String,
    pub label: String,
    pub total: i64,
}

/// Stacked bars, one column per label, each series stacked on the ones before it.
pub struct BarChart {
    /// The element id, for links and tests.
    pub id: String,
    pub title: String,
    /// What a column is: `Day`, `Hour`.
    pub unit: String,
    /// The drawing's width: 10 units per column.
    pub width: i64,
    pub columns: Vec<Column>,
    pub keys: Vec<Key>,
    /// The tallest column's total (at least 1), the top of the scale.
    pub max: i64,
    pub first: String,
    pub last: String,
    /// The chart in one sentence, for screen readers.
    pub summary: String,
    /// Whether any column has something.
    pub any: bool,
}

impl BarChart {
    pub const HEIGHT: i64 = 100;

    /// The chart of `series` over the columns `labels` names, in the order given (the first
    /// series at the bottom). Series past the palette are summed into an "Other" series.
    pub fn stacked(
        id: &str,
        title: &str,
        unit: &str,
        labels: Vec<String>,
        mut series: Vec<Series>,
    ) -> Self {
        if series.len() > PALETTE {
            let rest = series.split_off(PALETTE - 1);
            let mut other = vec![0; labels.len()];
            for s in &rest {
                for (o, v) in other.iter_mut().zip(&s.values) {
                    *o += v;
                }
            }
            series.push(Series::new("Other", other));
        }
        let value = |s: &Series, i: usize| s.values.get(i).copied().unwrap_or(0);
        let totals: Vec<i64> = (0..labels.len())
            .map(|i| series.iter().map(|s| value(s, i)).sum())
            .collect();
        let max = totals.iter().copied().max().unwrap_or(0).max(1);
        let scaled = |n: i64| {
            if n <= 0 {
                0
            } else {
                (n * Self::HEIGHT / max).max(2)
            }
        };
        let columns: Vec<Column> = labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let mut top = Self::HEIGHT;
                let segments = series
                    .iter()
                    .enumerate()
                    .filter_map(|(k, s)| {
                        let h = scaled(value(s, i)).min(top);
                        top -= h;
                        (h > 0).then(|| Segment {
                            class: format!("series-{}", k + 1),
                            y: top,
                            h,
                        })
                    })
                    .collect();
                let words: Vec<String> = series
                    .iter()
                    .map(|s| format!("{} {}", value(s, i), s.label))
                    .collect();
                Column {
                    label: label.clone(),
                    x: i64::try_from(i).unwrap_or(0) * 10 + 1,
                    title: format!("{label}: {}", words.join(", ")),
                    segments,
                    values: series.iter().map(|s| value(s, i)).collect(),
                    total: totals[i],
                }
            })
            .collect();
        let keys: Vec<Key> = series
            .iter()
            .enumerate()
            .map(|(k, s)| Key {
                class: format!("series-{}", k + 1),
                label: s.label.clone(),
                total: s.values.iter().sum(),
            })
            .collect();
        let first = labels.first().cloned().unwrap_or_default();
        let last = labels.last().cloned().unwrap_or_default();
        let sums: Vec<String> = keys
            .iter()
            .map(|k| format!("{} {}", k.total, k.label))
            .collect();
        let busiest = columns
            .iter()
            .filter(|c| c.total > 0)
            .max_by_key(|c| c.total)
            .map(|c| format!("; the most, {}, at {}", c.total, c.label))
            .unwrap_or_default();
        Self {
            id: id.to_string(),
            summary: format!(
                "{title} from {first} to {last}: {}{busiest}.",
                sums.join(", ")
            ),
            title: title.to_string(),
            unit: unit.to_string(),
            width: i64::try_from(labels.len()).unwrap_or(0) * 10,
            any: totals.iter().any(|t| *t > 0),
            max,
            first,
            last,
            columns,
            keys,
        }
    }

    /// The middle of the scale, for the dashed line across.
    pub fn half(&self) -> i64 {
        self.max / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_series_bottom_up_scaled_to_the_tallest_column() {
        let chart = BarChart::stacked(
            "c",
            "Awarded",
            "Day",
            vec!["a".into(), "b".into(), "c".into()],
            vec![
                Series::new("Awarded", vec![0, 40, 1]),
                Series::new("Refused", vec![0, 10, 0]),
            ],
        );
        assert_eq!(chart.max, 50);
        assert_eq!(chart.width, 30);
        let [empty, busy, small] = &chart.columns[..] else {
            panic!("three columns")
        };
        assert!(empty.segments.is_empty());
        assert_eq!(
            busy.segments.iter().map(|s| (s.y, s.h)).collect::<Vec<_>>(),
            vec![(20, 80), (0, 20)]
        );
        assert_eq!(
            small.segments[0].h, 2,
            "a column with something stays visible"
        );
        assert_eq!((empty.x, busy.x, small.x), (1, 11, 21));
        assert_eq!(busy.title, "b: 40 Awarded, 10 Refused");
        assert_eq!(
            chart.summary,
            "Awarded from a to c: 41 Awarded, 10 Refused; the most, 50, at b."
        );
        assert!(chart.any);
    }

    #[test]
    fn series_past_the_palette_fold_into_other() {
        let series = (0..8)
            .map(|i| Series::new(format!("s{i}"), vec![1]))
            .collect();
        let chart = BarChart::stacked("c", "T", "Day", vec!["x".into()], series);
        assert_eq!(chart.keys.len(), PALETTE);
        assert_eq!(chart.keys[PALETTE - 1].label, "Other");
        assert_eq!(chart.keys[PALETTE - 1].total, 3);
        let quiet = BarChart::stacked(
            "q",
            "T",
            "Day",
            vec!["x".into()],
            vec![Series::new("a", vec![0])],
        );
        assert_eq!((quiet.max, quiet.any), (1, false));
    }
}
