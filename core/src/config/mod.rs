//! keepalived.conf, read the way keepalived 2.2.7 reads it.
//!
//! The text comes in through a [`Loader`] (no file IO in the core), goes
//! through the [lexer](lexer) (comments, `@id` lines, `$NAME` definitions,
//! `include`, braces), becomes a [block tree](parser), and is then built into a
//! typed model with keepalived's defaults. Every step reports problems as
//! [`Diagnostic`]s pointing at `file:line:col`.

pub mod defs;
pub mod diag;
pub mod glob;
pub mod lexer;
pub mod loader;
pub mod parser;
pub mod text;

pub use diag::{DiagKind, Diagnostic, Severity};
pub use loader::{LoadError, Loader, MemoryLoader};
pub use parser::{Block, Node};
pub use text::{Pos, Word};

/// The block tree of a config and what reading it found.
#[derive(Clone, Debug)]
pub struct Tree {
    pub nodes: Vec<Node>,
    /// Every file read; [`Pos::file`] indexes this.
    pub files: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads `main_path` and its includes into a block tree, without
/// interpreting any keyword. `seed` drives `${_RANDOM}`.
pub fn read_tree(main_path: &str, loader: &dyn Loader, config_id: Option<&str>, seed: u64) -> Tree {
    let mut lx = lexer::Lexer::new(main_path, loader, config_id, seed);
    let mut diags = Vec::new();
    let files = std::cell::RefCell::new(lx.files.clone());
    let nodes = {
        let next = || {
            let l = lx.next_line();
            let mut f = files.borrow_mut();
            if f.len() != lx.files.len() {
                *f = lx.files.clone();
            }
            l
        };
        parser::parse_tree(next, &|| files.borrow().clone(), &mut diags)
    };
    let mut diagnostics = std::mem::take(&mut lx.diags);
    diagnostics.extend(diags);
    Tree {
        nodes,
        files: lx.files,
        diagnostics,
    }
}
