//! A blocking generic netlink socket: one request, then its replies up to
//! the kernel's acknowledgement or the end of a dump.

use netlink_packet_core::{
    DecodeError, Emitable, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader,
    NetlinkMessage, NetlinkPayload, ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};
use std::fmt::Debug;
use std::io;

/// Why a request got no answer to use.
#[derive(Debug, thiserror::Error)]
pub(super) enum NlError {
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    /// The kernel refused the request with this errno.
    #[error("{}", io::Error::from_raw_os_error(*.0))]
    Errno(i32),
    #[error("malformed netlink reply: {0}")]
    Decode(String),
}

impl From<DecodeError> for NlError {
    fn from(e: DecodeError) -> Self {
        NlError::Decode(e.to_string())
    }
}

/// A generic netlink socket bound in the network namespace of the thread
/// that opened it.
pub(super) struct GenlSocket {
    sock: Socket,
    seq: u32,
    /// Requests sent, each one round trip.
    pub(super) requests: u64,
}

impl GenlSocket {
    pub(super) fn open() -> io::Result<GenlSocket> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(GenlSocket {
            sock,
            seq: 0,
            requests: 0,
        })
    }

    /// Sends `payload` to `family` and returns the messages the kernel
    /// answered with: every part of a dump (`dump`), or the reply if any
    /// before the acknowledgement. One round trip either way.
    pub(super) fn request<F>(
        &mut self,
        family: u16,
        payload: F,
        dump: bool,
    ) -> Result<Vec<F>, NlError>
    where
        F: GenlFamily + Emitable + ParseableParametrized<[u8], GenlHeader> + Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let mut genl = GenlMessage::from_payload(payload);
        genl.set_resolved_family_id(family);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { NLM_F_ACK };
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(genl));
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.sock.send(&buf, 0)?;
        self.requests += 1;

        let mut replies = Vec::new();
        loop {
            let (datagram, _) = self.sock.recv_from_full()?;
            let mut rest = &datagram[..];
            while !rest.is_empty() {
                let len = NetlinkBuffer::new_checked(rest)?.length() as usize;
                // A message's length is 4-aligned within the datagram.
                let (one, next) = rest.split_at(len.min(rest.len()));
                rest = next
                    .get(len.next_multiple_of(4) - len..)
                    .unwrap_or_default();
                let msg = NetlinkMessage::<GenlMessage<F>>::deserialize(one)?;
                if msg.header.sequence_number != self.seq {
                    continue; // left over from an earlier request
                }
                match msg.payload {
                    NetlinkPayload::InnerMessage(m) => replies.push(m.payload),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(replies),
                            Some(code) => Err(NlError::Errno(code.get().saturating_abs())),
                        };
                    }
                    NetlinkPayload::Done(d) if d.code != 0 => {
                        return Err(NlError::Errno(d.code.saturating_abs()));
                    }
                    NetlinkPayload::Done(_) => return Ok(replies),
                    _ => {}
                }
            }
        }
    }
}
