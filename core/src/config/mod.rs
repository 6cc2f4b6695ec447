//! keepalived.conf, read the way keepalived 2.2.7 reads it.
//!
//! The text comes in through a [`Loader`] (no file IO in the core), goes
//! through the [lexer](lexer) (comments, `@id` lines, `$NAME` definitions,
//! `include`, braces), becomes a [block tree](parser), and is then built into a
//! typed [model] with keepalived's defaults. Every step reports problems as
//! [`Diagnostic`]s pointing at `file:line:col`.
//!
//! ```
//! let parsed = vigil_core::config::parse_str(
//!     "vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n",
//! );
//! assert!(!parsed.has_errors());
//! assert_eq!(parsed.model.instances[0].priority, 255); // MASTER without priority
//! ```
//!
//! # Where vigil differs from keepalived 2.2.7
//!
//! The model is what keepalived would run; the differences are in how broken
//! input is read and reported:
//!
//! - Braces stay paired. After a keyword that takes no block (or an unknown
//!   one) keepalived ignores the `{` and lets its `}` end the *enclosing*
//!   block; vigil ignores the stray block and reports an error saying so.
//! - A missing parameter makes keepalived exit; vigil reports it and goes on.
//! - A number keepalived reads only in part (`12abc`) is rejected, as
//!   `keepalived -t` does (the daemon itself would use `12` with a warning).
//! - Words after what a keyword takes are ignored by keepalived silently;
//!   vigil warns (a lost line break is the usual cause).
//! - An unclosed quote: keepalived drops the word, vigil keeps the rest of the
//!   line as the word, so one typo makes one diagnostic.
//! - A `$NAME` that expands to itself hangs keepalived; includes that include
//!   themselves recurse until it runs out of files. vigil stops both with an
//!   error: a file already being read is not included again, under any
//!   spelling of its path; includes nest at most 32 deep; and one config
//!   reads at most 10,000 files in all, so files that include each other
//!   twice over cannot multiply.
//! - Lines over 1023 bytes are split by keepalived's fixed buffer; vigil reads
//!   them whole.
//! - The core cannot look at the host: interface names are only checked
//!   against [`Options::interfaces`] (keepalived also drops a VIP whose `dev`
//!   does not exist; vigil keeps it), and script paths are never checked
//!   (keepalived disables tracking scripts it cannot find).

mod build;
pub mod defs;
pub mod diag;
pub mod glob;
mod include;
pub mod keywords;
pub mod lexer;
pub mod loader;
mod lst;
pub mod model;
pub mod parser;
pub mod print;
pub mod suggest;
pub mod text;
pub mod value;

pub use diag::{DiagKind, Diagnostic, Severity};
pub use loader::{LoadError, Loader, MemoryLoader};
pub use model::Config;
pub use parser::{Block, Node};
pub use text::{Pos, Word};

/// How to read a config.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Like `keepalived -i ID`: selects `@ID` lines and drops `@^ID` ones.
    pub config_id: Option<String>,
    /// The host's interface names, if the caller knows them: interfaces the
    /// config names that are not in the list get keepalived's "doesn't
    /// exist" warning. `None` skips the check (the core cannot look).
    pub interfaces: Option<Vec<String>>,
    /// Seed for `${_RANDOM}`, so a parse is reproducible.
    pub random_seed: u64,
}

/// A parsed config: the model and everything found wrong with the text.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub model: Config,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read, the main one first; [`Pos::file`] indexes this.
    pub files: Vec<String>,
}

impl Parsed {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// True when the main file could not be read at all.
    pub fn unreadable(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.kind == DiagKind::FileRead && d.line == 0)
    }

    /// The path of a position's file.
    pub fn file(&self, pos: Pos) -> &str {
        self.files.get(pos.file as usize).map_or("", String::as_str)
    }
}

/// Parses the config at `main_path` (and its includes) from `loader`.
pub fn parse(main_path: &str, loader: &dyn Loader, config_id: Option<&str>) -> Parsed {
    let opts = Options {
        config_id: config_id.map(str::to_string),
        ..Options::default()
    };
    parse_with(main_path, loader, &opts)
}

/// [`parse`] with all options.
pub fn parse_with(main_path: &str, loader: &dyn Loader, opts: &Options) -> Parsed {
    let tree = read_tree(
        main_path,
        loader,
        opts.config_id.as_deref(),
        opts.random_seed,
    );
    let mut cx = build::Cx::new(&tree.files, opts);
    let model = build::build(&tree.nodes, &mut cx);
    let mut diagnostics = tree.diagnostics;
    diagnostics.extend(cx.diags);
    // In file order (main file first, includes as first read), then by place.
    let rank = |f: &str| tree.files.iter().position(|x| x == f).unwrap_or(usize::MAX);
    diagnostics.sort_by_key(|d| (rank(&d.file), d.line, d.col));
    Parsed {
        model,
        diagnostics,
        files: tree.files,
    }
}

/// Parses config text with no includes available, as file `keepalived.conf`.
pub fn parse_str(text: &str) -> Parsed {
    let loader = MemoryLoader::new().with("keepalived.conf", text);
    parse("keepalived.conf", &loader, None)
}

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
