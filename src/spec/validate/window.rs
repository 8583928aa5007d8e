//! `[window]`: days of the week, hours as `HH:MM-HH:MM`, and an IANA time zone the system's tz
//! database knows (see `crate::rules::window`).

use super::schema::RawSpec;
use super::{SpecError, Validator};
use crate::rules::window::{self, Day, Window};

impl Validator<'_> {
    pub(super) fn window(&self, raw: &RawSpec) -> Result<Option<Window>, SpecError> {
        let Some(table) = &raw.window else {
            return Ok(None);
        };
        let names: Vec<&str> = Day::ALL.iter().map(|(name, _)| *name).collect();
        let mut days = vec![];
        for (i, text) in table.days.iter().enumerate() {
            let Some(day) = Day::parse(text) else {
                return Err(self.error(
                    self.item_span(&["window", "days"], i),
                    format!("`{text}` is not a day of the week"),
                    Some(format!("write days as {}", names.join(", "))),
                ));
            };
            if !days.contains(&day) {
                days.push(day);
            }
        }
        if days.is_empty() {
            return Err(self.error(
                self.span(&["window", "days"]),
                "a window with no days never opens".into(),
                Some(
                    "list the days changes may happen, e.g. days = [\"mon\", \"tue\", \"wed\", \
                     \"thu\"]"
                        .into(),
                ),
            ));
        }
        days.sort();
        let Some((opens, closes)) = window::parse_hours(&table.hours) else {
            return Err(self.error(
                self.span(&["window", "hours"]),
                format!("`{}` is not a range of hours", table.hours),
                Some(
                    "write HH:MM-HH:MM in 24-hour time, the first before the second, e.g. \
                     \"10:00-18:00\" (\"00:00-24:00\" for the whole day)"
                        .into(),
                ),
            ));
        };
        if let Err(e) = jiff::tz::TimeZone::get(&table.time_zone) {
            return Err(self.error(
                self.span(&["window", "time_zone"]),
                format!(
                    "`{}` is not a time zone this system knows: {e}",
                    table.time_zone
                ),
                Some(
                    "use an IANA name such as \"Asia/Kolkata\", \"Europe/London\" or \"UTC\" \
                     (the system's tz database, /usr/share/zoneinfo)"
                        .into(),
                ),
            ));
        }
        Ok(Some(Window {
            days,
            opens,
            closes,
            time_zone: table.time_zone.clone(),
        }))
    }

    /// The span of the `index`th item of the array at `path`, else of the array.
    fn item_span(&self, path: &[&str], index: usize) -> std::ops::Range<usize> {
        match self.node(path).map(|v| v.get_ref()) {
            Some(toml::de::DeValue::Array(items)) => items
                .get(index)
                .map(|v| v.span())
                .unwrap_or_else(|| self.span(path)),
            _ => self.span(path),
        }
    }
}
