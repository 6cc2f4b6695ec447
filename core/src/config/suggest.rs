//! Did-you-mean for unknown keywords: the closest known keyword by edit
//! distance, counting a swap of neighbours as one edit (`preemtp_delay`,
//! `stmp_connect_timeout`).

/// Optimal string alignment distance, case-insensitive.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// The candidate closest to `word`, if close enough to be a plausible typo:
/// at most a third of the word's length (and at least 1) edits away.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if word.chars().count() > 64 {
        return None;
    }
    let len = word.chars().count();
    let limit = (len / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        // The distance is at least the difference in length: most
        // candidates need no table (unknown keywords can be thousands).
        if c.chars().count().abs_diff(len) > limit {
            continue;
        }
        let d = distance(word, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_typos_find_their_keyword() {
        let kws = [
            "auth_pass",
            "auth_type",
            "preempt_delay",
            "smtp_connect_timeout",
            "interval",
        ];
        assert_eq!(closest("autp_pass", &kws), Some("auth_pass"));
        assert_eq!(closest("preemtp_delay", &kws), Some("preempt_delay"));
        assert_eq!(
            closest("stmp_connect_timeout", &kws),
            Some("smtp_connect_timeout")
        );
        assert_eq!(closest("inerval", &kws), Some("interval"));
        assert_eq!(closest("nat_mask", &kws), None);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("Priority", "priority"), 0);
    }
}
