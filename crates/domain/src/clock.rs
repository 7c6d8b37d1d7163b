//! The one clock. Nothing else in OpenIOP reads the system time (clippy's `disallowed-methods`
//! refuses `Utc::now`, `Local::now` and `SystemTime::now` everywhere but here), so a test or a
//! demo can set "now", and "today" is always a site's local day, never the server's UTC date.
#![allow(clippy::disallowed_methods)]
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use std::sync::Mutex;

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Today at a site: the local date in its time zone (at an evening program in New York,
    /// 19:30 on the 3rd is still the 3rd although it is the 4th in UTC).
    fn today_in(&self, tz: Tz) -> NaiveDate {
        local_date(self.now(), tz)
    }
}

/// The local date of an instant in a time zone.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is moved: tests and fixed-week demos set it, and tests
/// that would wait (idle timeouts, expiring links) advance it instead of sleeping. Each reading
/// is one microsecond after the last, so that things done one after another keep their order.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += Duration::microseconds(1);
        *t
    }
}

/// A clock offset from the system's by a fixed amount: the whole suite can run "a year ahead"
/// (`OPENIOP_CLOCK_OFFSET_DAYS`) to prove no test depends on today's date.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock(pub Duration);

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn half_past_seven_in_the_evening_in_new_york_is_still_today_there() {
        // 2026-12-03 19:30 EST = 2026-12-04 00:30 UTC.
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 4, 0, 30, 0).single().expect("time"));
        assert_eq!(clock.today_in(chrono_tz::America::New_York), NaiveDate::from_ymd_opt(2026, 12, 3).expect("date"));
        assert_eq!(clock.today_in(chrono_tz::UTC), NaiveDate::from_ymd_opt(2026, 12, 4).expect("date"));
        clock.advance(Duration::hours(5));
        assert_eq!(clock.today_in(chrono_tz::America::New_York), NaiveDate::from_ymd_opt(2026, 12, 4).expect("date"));
    }
}
