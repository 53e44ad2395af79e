//! "did you mean SCMP_ACT_ERRNO?": the valid word nearest to a misspelt one.

/// The candidate closest to `word` (case-insensitive, with or without the `SCMP_XXX_`
/// prefix), when it is close enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Compared without the prefix that every candidate shares, so that "SCMP_ACT_FOO" is not
    // near "SCMP_ACT_LOG" for their common start.
    fn short(w: &str) -> &str {
        match w.starts_with("SCMP_") {
            true => w.splitn(3, '_').nth(2).unwrap_or(w),
            false => w,
        }
    }
    let word = word.to_ascii_uppercase();
    candidates
        .into_iter()
        .map(|c| {
            let score = strsim::jaro_winkler(short(&word), short(&c.to_ascii_uppercase()));
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// " (did you mean X?)", or nothing when no candidate is close.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates).map_or_else(String::new, |c| format!(" (did you mean {c}?)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::types::{ACTION_NAMES, Action, CmpOp};

    #[test]
    fn the_word_lists_are_what_the_parsers_take() {
        assert!(
            ACTION_NAMES
                .iter()
                .all(|n| Action::parse(n, None).is_some())
        );
        assert!(
            CmpOp::NAMES
                .iter()
                .all(|n| CmpOp::from_scmp_name(n).is_some())
        );
        assert_eq!(
            nearest("SCMP_ACT_ERRNOO", ACTION_NAMES),
            Some("SCMP_ACT_ERRNO")
        );
        assert_eq!(
            nearest("SCMP_CMP_MASKEDEQ", CmpOp::NAMES),
            Some("SCMP_CMP_MASKED_EQ")
        );
        let arches: Vec<&str> = crate::profile::Arch::scmp_names().collect();
        assert_eq!(
            nearest("SCMP_ARCH_X86-64", arches.clone()),
            Some("SCMP_ARCH_X86_64")
        );
        assert_eq!(nearest("x86_64", arches), Some("SCMP_ARCH_X86_64"));
    }

    #[test]
    fn typos_find_the_word_and_nonsense_finds_nothing() {
        let actions = [
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_LOG",
            "SCMP_ACT_KILL",
        ];
        assert_eq!(nearest("SCMP_ACT_ERNO", actions), Some("SCMP_ACT_ERRNO"));
        assert_eq!(nearest("scmp_act_allow", actions), Some("SCMP_ACT_ALLOW"));
        assert_eq!(nearest("ALLOW", actions), Some("SCMP_ACT_ALLOW"));
        assert_eq!(nearest("SCMP_ACT_ALLOWED", actions), Some("SCMP_ACT_ALLOW"));
        assert_eq!(nearest("frobnicate", actions), None);
        assert_eq!(nearest("SCMP_ACT_FOO", ACTION_NAMES), None);
        assert_eq!(nearest("SCMP_ACT_NOPE", ACTION_NAMES), None);
    }
}
