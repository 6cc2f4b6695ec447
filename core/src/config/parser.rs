//! The generic block tree: every logical line is a [`Node`]; a line followed
//! by a `{` line owns the lines up to the matching `}` as its block.
//!
//! The tree is purely syntactic — which keywords take a block is decided when
//! the model is built — so a stray block is reported there with the keyword
//! it hangs off. keepalived instead decides from its keyword tables while
//! reading: after a keyword that takes no block it ignores the `{` and lets
//! the `}` close the *enclosing* block. vigil keeps braces paired and reports
//! that case (see `build`), which keeps one typo from scrambling the rest of
//! the file.

use super::diag::{DiagKind, Diagnostic, Severity};
use super::lexer::Line;
use super::text::{Pos, Word, make};

/// One statement: a keyword, its arguments and maybe a block.
#[derive(Clone, Debug)]
pub struct Node {
    pub words: Vec<Word>,
    /// The statement's text, for keywords that re-split it.
    pub text: String,
    pub block: Option<Block>,
}

/// The statements between a `{` and its `}`.
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub open: Pos,
    /// `None` when the file ended first.
    pub close: Option<Pos>,
    pub nodes: Vec<Node>,
}

impl Node {
    pub fn keyword(&self) -> &str {
        self.words.first().map_or("", |w| w.text.as_str())
    }

    pub fn pos(&self) -> Pos {
        self.words.first().map(|w| w.pos).unwrap_or_default()
    }

    /// The words after the keyword.
    pub fn args(&self) -> &[Word] {
        self.words.get(1..).unwrap_or(&[])
    }

    pub fn arg(&self, i: usize) -> Option<&Word> {
        self.words.get(i + 1)
    }
}

/// keepalived's deepest blocks are 4 levels (virtual_server, real_server,
/// checker, url); anything far deeper is garbage.
pub const MAX_DEPTH: usize = 64;

struct Frame {
    nodes: Vec<Node>,
    open: Pos,
    /// The node in the parent frame this block belongs to; `None` for a
    /// stray `{` whose contents are dropped.
    owner: Option<usize>,
}

/// Builds the tree from the lexer's lines. Works with an explicit stack so
/// deeply nested input cannot overflow the call stack.
pub(crate) fn parse_tree(
    mut next: impl FnMut() -> Option<Line>,
    files: &dyn Fn() -> Vec<String>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Node> {
    let mut stack = vec![Frame {
        nodes: Vec::new(),
        open: Pos::default(),
        owner: None,
    }];
    let mut prev_statement = false;
    // Braces nested below MAX_DEPTH are counted, not stored: the tree (and
    // the recursion that walks and drops it) stays bounded.
    let mut skipping = 0usize;
    while let Some(line) = next() {
        let first = line.words.first().map(|w| w.text.as_str()).unwrap_or("");
        let pos = line.words.first().map(|w| w.pos).unwrap_or_default();
        let lone = line.words.len() == 1;
        if skipping > 0 {
            if lone && first == "{" {
                skipping += 1;
            } else if lone && first == "}" {
                skipping -= 1;
            }
            continue;
        }
        if lone && first == "{" && stack.len() > MAX_DEPTH {
            diags.push(make(
                &files(),
                Severity::Error,
                DiagKind::UnexpectedBlock,
                pos,
                "{",
                format!("blocks nested more than {MAX_DEPTH} deep - ignoring this block"),
                None,
            ));
            skipping = 1;
            prev_statement = false;
            continue;
        }
        if lone && first == "{" {
            let top = stack.last().map(|f| f.nodes.len()).unwrap_or(0);
            let owner = if prev_statement && top > 0 {
                Some(top - 1)
            } else {
                diags.push(make(
                    &files(),
                    Severity::Warning,
                    DiagKind::UnexpectedBlock,
                    pos,
                    "{",
                    "Unexpected '{' - ignoring",
                    Some(
                        "a block must follow the keyword it belongs to; its contents are ignored"
                            .into(),
                    ),
                ));
                None
            };
            stack.push(Frame {
                nodes: Vec::new(),
                open: pos,
                owner,
            });
            prev_statement = false;
            continue;
        }
        if lone && first == "}" {
            prev_statement = false;
            if stack.len() == 1 {
                diags.push(make(
                    &files(),
                    Severity::Error,
                    DiagKind::ExtraCloseBrace,
                    pos,
                    "}",
                    "Extra '}' found",
                    Some("remove it, or add the '{' it should close".into()),
                ));
                continue;
            }
            close_frame(&mut stack, Some(pos));
            continue;
        }
        if let Some(top) = stack.last_mut() {
            top.nodes.push(Node {
                words: line.words,
                text: line.text,
                block: None,
            });
        }
        prev_statement = true;
    }
    while stack.len() > 1 {
        if let Some(f) = stack.last() {
            let open = f.open;
            let owner_kw = f
                .owner
                .and_then(|o| stack.get(stack.len() - 2).and_then(|p| p.nodes.get(o)))
                .map(|n| n.keyword().to_string());
            diags.push(make(
                &files(),
                Severity::Error,
                DiagKind::MissingCloseBrace,
                open,
                "{",
                match owner_kw {
                    Some(k) => format!("missing '}}' for the block of '{k}' opened here"),
                    None => "missing '}' for the block opened here".to_string(),
                },
                Some("keepalived reports: There are N missing '}'s or extra '{'s".into()),
            ));
        }
        close_frame(&mut stack, None);
    }
    stack.pop().map(|f| f.nodes).unwrap_or_default()
}

fn close_frame(stack: &mut Vec<Frame>, close: Option<Pos>) {
    let Some(frame) = stack.pop() else { return };
    let Some(owner) = frame.owner else { return };
    if let Some(parent) = stack.last_mut()
        && let Some(node) = parent.nodes.get_mut(owner)
    {
        node.block = Some(Block {
            open: frame.open,
            close,
            nodes: frame.nodes,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::Lexer;
    use super::super::loader::MemoryLoader;
    use super::*;

    fn tree(text: &str) -> (Vec<Node>, Vec<Diagnostic>) {
        let l = MemoryLoader::new().with("k", text);
        let mut lx = Lexer::new("k", &l, None, 0);
        let files = lx.files.clone();
        let mut d = Vec::new();
        let nodes = parse_tree(|| lx.next_line(), &|| files.clone(), &mut d);
        (nodes, d)
    }

    fn show(nodes: &[Node]) -> String {
        nodes
            .iter()
            .map(|n| {
                let w: Vec<&str> = n.words.iter().map(|w| w.text.as_str()).collect();
                match &n.block {
                    Some(b) => format!("{}{{{}}}", w.join(" "), show(&b.nodes)),
                    None => w.join(" "),
                }
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    #[test]
    fn blocks_attach_to_the_preceding_line() {
        let (n, d) = tree("a 1 {\n b\n c {\n d\n }\n}\ne\n{\nf\n}\n");
        assert_eq!(show(&n), "a 1{b;c{d}};e{f}");
        assert!(d.is_empty());
    }

    #[test]
    fn stray_brace_is_reported_and_dropped() {
        let (n, d) = tree("a { }\n{ x }\nb\n");
        assert_eq!(show(&n), "a{};b");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "Unexpected '{' - ignoring");
        assert_eq!((d[0].line, d[0].col), (2, 1));
    }

    #[test]
    fn extra_and_missing_close_braces() {
        let (_, d) = tree("a { }\n}\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "Extra '}' found");
        assert_eq!((d[0].line, d[0].col), (2, 1));
        let (n, d) = tree("vrrp_instance X {\n state MASTER\n");
        assert_eq!(show(&n), "vrrp_instance X{state MASTER}");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, DiagKind::MissingCloseBrace);
        assert_eq!(
            d[0].message,
            "missing '}' for the block of 'vrrp_instance' opened here"
        );
        assert_eq!((d[0].line, d[0].col), (1, 17));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let text = "a {\n".repeat(100_000);
        let (n, d) = tree(&text);
        assert_eq!(n.len(), 1);
        // One for the skipped block, one per unclosed stored block.
        assert_eq!(d.len(), 1 + MAX_DEPTH);
        assert_eq!(d[0].line, MAX_DEPTH as u32 + 1);
    }
}
