//! IPVS's generic netlink family, and the message type it speaks.
//!
//! The family id is allocated when `ip_vs` registers, so it is asked of
//! the controller by name. Asking also loads the module on a kernel that
//! can (`MODULE_ALIAS_GENL_FAMILY("IPVS")`).

use super::attrs::{Attr, AttrError, Attrs};
use super::socket::{GenlSocket, NlError};
use netlink_packet_core::{DecodeError, Emitable, ParseableParametrized};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlHeader};

const NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
const VERSION: u8 = 1;
/// The controller's own family id (`GENL_ID_CTRL`); it ignores the one set
/// on the message.
const CTRL: u16 = 0x10;

/// The id of the IPVS family: `Ok(None)` when this kernel has none (no
/// IPVS, or a module that could not be loaded).
pub(super) fn resolve(sock: &mut GenlSocket) -> Result<Option<u16>, NlError> {
    let ask = GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(NAME.to_owned())],
    };
    let replies = match sock.request(CTRL, ask, false) {
        Ok(r) => r,
        Err(NlError::Errno(nix::libc::ENOENT)) => return Ok(None),
        Err(e) => return Err(e),
    };
    replies
        .iter()
        .flat_map(|r| &r.nlas)
        .find_map(|a| match a {
            GenlCtrlAttrs::FamilyId(id) => Some(Some(*id)),
            _ => None,
        })
        .ok_or_else(|| NlError::Decode("the controller named no IPVS family id".into()))
}

/// One IPVS message: a command and its top-level attributes. Requests are
/// built from [`Attr`]s; a reply keeps its attributes as received, for
/// [`Attrs::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct IpvsMessage {
    pub cmd: u8,
    attrs: Vec<Attr>,
    raw: Vec<u8>,
}

impl IpvsMessage {
    pub(super) fn new(cmd: u8, attrs: Vec<Attr>) -> IpvsMessage {
        IpvsMessage {
            cmd,
            attrs,
            raw: Vec::new(),
        }
    }

    /// The top-level attributes of a reply.
    pub(super) fn attrs(&self) -> Result<Attrs<'_>, AttrError> {
        Attrs::parse(&self.raw)
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        NAME
    }

    fn command(&self) -> u8 {
        self.cmd
    }

    fn version(&self) -> u8 {
        VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(IpvsMessage {
            cmd: header.cmd,
            attrs: Vec::new(),
            raw: buf.to_vec(),
        })
    }
}
