//! 42 CFR Part 2 (confidentiality of substance use disorder patient records): the notice that
//! travels with every export that discloses a patient's SUD records — the discharge summary
//! (page and PDF) and the CSV exports. One text, shown the same way everywhere.

/// The short statement that 42 CFR §2.32(a)(2) allows in place of the long one, word for word
/// (the 2024 wording, which added "use or" to the 2018 text).
pub const REDISCLOSURE_STATEMENT: &str = "42 CFR part 2 prohibits unauthorized use or disclosure of these records.";

/// The heading the notice is shown under.
pub const NOTICE_TITLE: &str = "Confidential: 42 CFR Part 2 substance use disorder record";

// Source: 42 CFR §2.32(a) as amended 2024 (final rule 89 FR 12472, 2024-02-16): statement (a)(2) quoted.
/// The notice itself: the §2.32 statement with plain words around it (our wording, not the
/// regulation's; only [`REDISCLOSURE_STATEMENT`] is quoted from it).
pub const NOTICE: &str = "This record comes from a substance use disorder treatment program and is protected by \
federal confidentiality rules. 42 CFR part 2 prohibits unauthorized use or disclosure of these records. \
Do not share it further, or use it in any proceeding against the patient, unless the patient's written \
consent or 42 CFR part 2 itself allows it; a general authorization to release medical information is not \
enough.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_quotes_the_statement_and_fits_on_one_csv_line() {
        assert!(NOTICE.contains(REDISCLOSURE_STATEMENT));
        assert!(!NOTICE.contains(['"', '\n', '\r']), "one quoted CSV cell, no escaping needed");
        assert!(!NOTICE.starts_with(['=', '+', '-', '@']), "not read as a spreadsheet formula");
    }
}
