//! The simulated wire as a pcap file, timestamps from the fixed epoch.

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use std::time::Duration;
use vigil_core::Instant;

/// Writes the frames in time order (stable for frames of the same instant).
pub fn write(mut frames: Vec<(Instant, Vec<u8>)>) -> Vec<u8> {
    frames.sort_by_key(|f| f.0);
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..Default::default()
    };
    let Ok(mut writer) = PcapWriter::with_header(Vec::new(), header) else {
        return Vec::new();
    };
    for (at, data) in &frames {
        let ts = Duration::from_secs(crate::EPOCH_SECS) + Duration::from_nanos(at.as_nanos());
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        // Writing to a Vec cannot fail.
        let _ = writer.write_packet(&PcapPacket::new(ts, len, data));
    }
    writer.into_writer()
}
