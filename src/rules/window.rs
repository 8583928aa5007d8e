//! A change window (`[window]` of a spec): the days and hours, in an IANA time zone, when an
//! environment may change. Our users' rule (seeds 001 and 003): "Do NOT release on Friday or
//! weekend"; deploys run Monday to Thursday in working hours.
//!
//! Pure: [`Window::verdict`] takes the time it is asked about; the CLI takes "now" from one
//! place (`Settings::now`). Times are read in the window's zone with the system's tz database,
//! so a window follows daylight saving time: 10:00 in Europe/London is 09:00 UTC in summer and
//! 10:00 UTC in winter.

use std::fmt;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

/// A day of the week as a spec writes it: `mon` .. `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub const ALL: [(&'static str, Day); 7] = [
        ("mon", Day::Mon),
        ("tue", Day::Tue),
        ("wed", Day::Wed),
        ("thu", Day::Thu),
        ("fri", Day::Fri),
        ("sat", Day::Sat),
        ("sun", Day::Sun),
    ];

    pub fn parse(text: &str) -> Option<Day> {
        Day::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, day)| *day)
    }

    fn of(weekday: Weekday) -> Day {
        match weekday {
            Weekday::Monday => Day::Mon,
            Weekday::Tuesday => Day::Tue,
            Weekday::Wednesday => Day::Wed,
            Weekday::Thursday => Day::Thu,
            Weekday::Friday => Day::Fri,
            Weekday::Saturday => Day::Sat,
            Weekday::Sunday => Day::Sun,
        }
    }

    fn name(self) -> &'static str {
        Day::ALL
            .iter()
            .find(|(_, day)| *day == self)
            .map(|(name, _)| *name)
            .unwrap_or("?")
    }
}

/// A validated `[window]`: open on `days`, from `opens` until `closes` (minutes after local
/// midnight; `closes` may be 24:00), in `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub days: Vec<Day>,
    pub opens: u16,
    pub closes: u16,
    pub time_zone: String,
}

/// Whether the window is open at a time, and if not, when it next opens.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Open,
    Closed {
        /// The time asked about, in the window's zone.
        now: ZonedDateTime,
        next_opens: ZonedDateTime,
    },
}

/// `10:00-18:00` → (600, 1080). `None` for anything else, an empty or backwards range
/// included: a window that spans midnight is written as two days' hours would be.
pub fn parse_hours(text: &str) -> Option<(u16, u16)> {
    let (from, until) = text.split_once('-')?;
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    let (opens, closes) = (minute(from)?, minute(until)?);
    (opens < closes && opens < 24 * 60).then_some((opens, closes))
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl Window {
    /// The window's zone from the system's tz database; validation checked it exists.
    pub fn zone(&self) -> Result<TimeZone, String> {
        TimeZone::get(&self.time_zone).map_err(|e| e.to_string())
    }

    /// Open or closed at `now`, and when it next opens.
    pub fn verdict(&self, now: Timestamp) -> Result<Verdict, String> {
        // A window read back from a plan file was not validated as a spec's is.
        if self.days.is_empty() || self.opens >= self.closes || self.closes > 24 * 60 {
            return Err(format!("the window {self} never opens"));
        }
        let zone = self.zone()?;
        let here = now.to_zoned_datetime(zone.clone());
        let today = here.date();
        // A day's hours end by its midnight, so only today and the week after matter: those
        // eight days hold each weekday at least once.
        for offset in 0..=7 {
            let date = today
                .checked_add(jiff::Span::new().days(offset))
                .map_err(|e| e.to_string())?;
            if !self.days.contains(&Day::of(date.weekday())) {
                continue;
            }
            let opens = self.at(date, self.opens, &zone)?;
            let closes = self.at(date, self.closes, &zone)?;
            if opens.timestamp() <= now && now < closes.timestamp() {
                return Ok(Verdict::Open);
            }
            if opens.timestamp() > now {
                return Ok(Verdict::Closed {
                    now: here,
                    next_opens: opens,
                });
            }
        }
        Err(format!("the window {self} never opens"))
    }

    /// `minutes` after midnight of `date`, in `zone`. A time that a DST change skips (02:30 on
    /// the night clocks go forward) is taken as the moment after the gap, as RFC 5545 does.
    fn at(&self, date: Date, minutes: u16, zone: &TimeZone) -> Result<ZonedDateTime, String> {
        let zoned = if minutes >= 24 * 60 {
            // 24:00 is the start of the next day.
            date.to_zoned_datetime(zone.clone())
                .and_then(|midnight| midnight.tomorrow())
        } else {
            jiff::civil::Time::new((minutes / 60) as i8, (minutes % 60) as i8, 0, 0)
                .and_then(|time| date.to_datetime(time).to_zoned_datetime(zone.clone()))
        };
        zoned.map_err(|e| e.to_string())
    }
}

/// `mon, tue, wed, thu 10:00-18:00 Asia/Kolkata`
impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = self.days.iter().map(|d| d.name()).collect();
        write!(
            f,
            "{} {}-{} {}",
            days.join(", "),
            hhmm(self.opens),
            hhmm(self.closes),
            self.time_zone
        )
    }
}

/// `Friday 2026-12-04 16:30`: a time in the window's zone, as a person reads it.
pub fn local(time: &ZonedDateTime) -> String {
    time.strftime("%A %Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(days: &[Day], hours: &str, zone: &str) -> Window {
        let (opens, closes) = parse_hours(hours).unwrap();
        Window {
            days: days.to_vec(),
            opens,
            closes,
            time_zone: zone.into(),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    const WORKDAYS: &[Day] = &[Day::Mon, Day::Tue, Day::Wed, Day::Thu];

    #[test]
    fn hours_are_a_forward_range_of_hh_mm() {
        assert_eq!(parse_hours("10:00-18:00"), Some((600, 1080)));
        assert_eq!(parse_hours("00:00-24:00"), Some((0, 1440)));
        for bad in [
            "18:00-10:00",
            "10:00-10:00",
            "10-18",
            "9:00-18:00",
            "10:60-11:00",
        ] {
            assert_eq!(parse_hours(bad), None, "{bad}");
        }
    }

    #[test]
    fn open_monday_to_thursday_in_working_hours_in_kolkata() {
        let w = window(WORKDAYS, "10:00-18:00", "Asia/Kolkata");
        // Thursday 2026-12-03 11:00 in Kolkata is 05:30 UTC.
        assert_eq!(w.verdict(at("2026-12-03T05:30:00Z")), Ok(Verdict::Open));
        // Friday 10:00 in Kolkata: closed until Monday 10:00 there.
        let Ok(Verdict::Closed { now, next_opens }) = w.verdict(at("2026-12-04T04:30:00Z")) else {
            panic!("Friday is closed");
        };
        assert_eq!(local(&now), "Friday 2026-12-04 10:00");
        assert_eq!(local(&next_opens), "Monday 2026-12-07 10:00");
        // Thursday 18:00 sharp has closed.
        assert!(matches!(
            w.verdict(at("2026-12-03T12:30:00Z")),
            Ok(Verdict::Closed { .. })
        ));
    }

    #[test]
    fn a_window_follows_daylight_saving_time() {
        let w = window(WORKDAYS, "10:00-18:00", "Europe/London");
        // 09:30 UTC is 10:30 in London in summer (BST) and 09:30 in winter (GMT).
        assert_eq!(w.verdict(at("2026-07-02T09:30:00Z")), Ok(Verdict::Open));
        assert!(matches!(
            w.verdict(at("2026-12-03T09:30:00Z")),
            Ok(Verdict::Closed { .. })
        ));
    }

    #[test]
    fn before_the_hours_it_opens_the_same_day() {
        let w = window(WORKDAYS, "10:00-18:00", "UTC");
        let Ok(Verdict::Closed { next_opens, .. }) = w.verdict(at("2026-12-07T08:00:00Z")) else {
            panic!("Monday 08:00 is closed");
        };
        assert_eq!(local(&next_opens), "Monday 2026-12-07 10:00");
    }

    #[test]
    fn a_window_from_an_edited_plan_that_never_opens_is_an_error_not_a_panic() {
        let mut w = window(WORKDAYS, "10:00-18:00", "UTC");
        w.opens = 65000;
        assert!(w.verdict(at("2026-12-03T11:00:00Z")).is_err());
        w.opens = 600;
        w.time_zone = "../../etc/passwd".into();
        assert!(w.verdict(at("2026-12-03T11:00:00Z")).is_err());
    }

    #[test]
    fn reads_as_the_spec_wrote_it() {
        let w = window(WORKDAYS, "10:00-18:00", "Asia/Kolkata");
        assert_eq!(w.to_string(), "mon, tue, wed, thu 10:00-18:00 Asia/Kolkata");
    }
}
