//! `~LST(VARS, VALUES...) text`: a line repeated once per value set, as
//! keepalived 2.2.7's `add_lst` reads it.
//!
//! `~LST(N, 1, 2, 3) text` repeats `text` with `$N` = 1, 2, 3;
//! `~LST({A,B}, {1,x}, {2,y}) text` sets several variables at once, and a
//! set with fewer values leaves the rest empty. Values are taken as written
//! (no `$NAME` substitution inside the parentheses).

/// A parsed `~LST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lst {
    pub vars: Vec<String>,
    /// One entry per repetition, each with one value per variable.
    pub sets: Vec<Vec<String>>,
    /// Character index where the repeated text starts.
    pub text_at: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LstError {
    Invalid,
    TooManyValues,
}

struct Cursor<'a> {
    c: &'a [char],
    p: usize,
}

impl Cursor<'_> {
    fn blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.p += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.c.get(self.p).copied()
    }

    /// Takes a word up to a blank or one of `stops`.
    fn word(&mut self, stops: &[char]) -> String {
        let start = self.p;
        while let Some(ch) = self.peek() {
            if ch == ' ' || ch == '\t' || stops.contains(&ch) {
                break;
            }
            self.p += 1;
        }
        self.c[start..self.p].iter().collect()
    }

    /// Consumes `ch` and the blanks after it.
    fn eat(&mut self, ch: char) -> bool {
        if self.peek() != Some(ch) {
            return false;
        }
        self.p += 1;
        self.blanks();
        true
    }
}

/// Parses a line starting with `~LST`.
pub(crate) fn parse(line: &[char]) -> Result<Lst, LstError> {
    let mut cur = Cursor { c: line, p: 4 };
    cur.blanks();
    if !cur.eat('(') {
        return Err(LstError::Invalid);
    }
    let braced = cur.eat('{');
    let mut vars = Vec::new();
    loop {
        vars.push(cur.word(&[',', '}']));
        cur.blanks();
        if (braced && cur.eat('}')) || (!braced && cur.peek() == Some(',')) {
            break;
        }
        if !(braced && cur.eat(',')) {
            return Err(LstError::Invalid);
        }
    }
    if !cur.eat(',') {
        return Err(LstError::Invalid);
    }
    let mut sets = Vec::new();
    loop {
        let braced = cur.eat('{');
        let mut set = Vec::new();
        loop {
            set.push(cur.word(&[',', '}', ')']));
            cur.blanks();
            let end = if braced { '}' } else { ',' };
            if cur.peek() == Some(end) || (!braced && cur.peek() == Some(')')) {
                break;
            }
            if !cur.eat(',') {
                return Err(LstError::Invalid);
            }
            if set.len() >= vars.len() {
                return Err(LstError::TooManyValues);
            }
        }
        set.resize(vars.len().max(set.len()), String::new());
        sets.push(set);
        if braced {
            cur.eat('}');
        }
        if cur.eat(')') {
            break;
        }
        if !cur.eat(',') {
            return Err(LstError::Invalid);
        }
    }
    if vars.iter().any(String::is_empty) {
        return Err(LstError::Invalid);
    }
    Ok(Lst {
        vars,
        sets,
        text_at: cur.p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Variables, value sets and the repeated text.
    type Parts = (Vec<String>, Vec<Vec<String>>, String);

    fn lst(s: &str) -> Result<Parts, LstError> {
        let c: Vec<char> = s.chars().collect();
        parse(&c).map(|l| (l.vars, l.sets, c[l.text_at..].iter().collect()))
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_variable_one_value_per_line() {
        let (vars, sets, text) = lst("~LST(ADDR, 10, 11, 12) 10.0.0.${ADDR}/24").unwrap();
        assert_eq!(vars, strs(&["ADDR"]));
        assert_eq!(sets, vec![strs(&["10"]), strs(&["11"]), strs(&["12"])]);
        assert_eq!(text, "10.0.0.${ADDR}/24");
    }

    #[test]
    fn several_variables_in_braces_missing_values_are_empty() {
        let (vars, sets, text) = lst("~LST({N, IF}, {1, eth0}, {2}) x $N $IF").unwrap();
        assert_eq!(vars, strs(&["N", "IF"]));
        assert_eq!(sets, vec![strs(&["1", "eth0"]), strs(&["2", ""])]);
        assert_eq!(text, "x $N $IF");
    }

    #[test]
    fn malformed_lists_are_refused() {
        assert_eq!(lst("~LST N, 1)").unwrap_err(), LstError::Invalid);
        assert_eq!(lst("~LST(N)").unwrap_err(), LstError::Invalid);
        assert_eq!(lst("~LST(N, 1 2)").unwrap_err(), LstError::Invalid);
        assert_eq!(
            lst("~LST(N, {1, 2}) x").unwrap_err(),
            LstError::TooManyValues
        );
    }
}
