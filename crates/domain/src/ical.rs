//! iCalendar (RFC 5545) feeds: the sessions of one staff member or one patient, with nothing
//! more than that subscriber may see (no other patients' names).
use chrono::{DateTime, Utc};

/// One event of a feed.
pub struct Event {
    pub uid: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: String,
    pub location: String,
    pub description: String,
    pub cancelled: bool,
}

/// Escapes TEXT values (RFC 5545 §3.3.11).
fn text(s: &str) -> String {
    s.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace("\r\n", "\\n").replace('\n', "\\n")
}

/// Folds a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut count = 0;
    for ch in line.chars() {
        let n = ch.len_utf8();
        if count + n > 75 {
            out.push_str("\r\n ");
            count = 1;
        }
        out.push(ch);
        count += n;
    }
    out.push_str("\r\n");
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The calendar text; `now` is its DTSTAMP.
pub fn calendar(name: &str, events: &[Event], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for l in ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//OpenIOP//Schedule//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"] {
        fold(l, &mut out);
    }
    fold(&format!("X-WR-CALNAME:{}", text(name)), &mut out);
    let now = stamp(now);
    for e in events {
        fold("BEGIN:VEVENT", &mut out);
        fold(&format!("UID:{}", e.uid), &mut out);
        fold(&format!("DTSTAMP:{now}"), &mut out);
        fold(&format!("DTSTART:{}", stamp(e.start)), &mut out);
        fold(&format!("DTEND:{}", stamp(e.end)), &mut out);
        fold(&format!("SUMMARY:{}", text(&e.summary)), &mut out);
        if !e.location.is_empty() {
            fold(&format!("LOCATION:{}", text(&e.location)), &mut out);
        }
        if !e.description.is_empty() {
            fold(&format!("DESCRIPTION:{}", text(&e.description)), &mut out);
        }
        fold(if e.cancelled { "STATUS:CANCELLED" } else { "STATUS:CONFIRMED" }, &mut out);
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_and_text_is_escaped() {
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 16, 23, 0, 0).single().expect("time");
        let e = Event {
            uid: "x@openiop".into(),
            start: t,
            end: t + chrono::Duration::hours(3),
            summary: "Group therapy; relapse prevention, part 2".into(),
            location: "Room A".repeat(20),
            description: "line one\nline two".into(),
            cancelled: false,
        };
        let c = calendar("Lena's sessions", &[e], t);
        assert!(c.contains("SUMMARY:Group therapy\\; relapse prevention\\, part 2\r\n"));
        assert!(c.contains("DESCRIPTION:line one\\nline two\r\n"));
        assert!(c.lines().all(|l| l.len() <= 75));
        assert!(c.starts_with("BEGIN:VCALENDAR\r\n") && c.ends_with("END:VCALENDAR\r\n"));
    }
}
