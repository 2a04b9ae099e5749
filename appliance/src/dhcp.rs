//! A minimal DHCPv4 client exchange (RFC 2131): DISCOVER, OFFER, REQUEST,
//! ACK, for one interface at boot. The lease is not renewed: the appliance
//! keeps the address it got (document your DHCP server's lease time; QEMU's
//! user network gives 24 h and cloud VPCs reserve the address for the VM).
//!
//! Hand-written on purpose: the client needs four options and two message
//! shapes; the one maintained codec crate (`dhcproto`) brings a DNS library
//! (`hickory-proto`) with it, which would double the init's dependencies.
//! Decoding is length-checked and never panics (property test).

use crate::error::Error;
use std::net::Ipv4Addr;

const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Fixed BOOTP header length before the options.
const HEADER_LEN: usize = 236;
const OPT_PAD: u8 = 0;
const OPT_SUBNET_MASK: u8 = 1;
const OPT_ROUTER: u8 = 3;
const OPT_DNS: u8 = 6;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_LEASE_TIME: u8 = 51;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_SERVER_ID: u8 = 54;
const OPT_PARAM_LIST: u8 = 55;
const OPT_END: u8 = 255;

/// DHCP message types (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// DHCPDISCOVER.
    Discover = 1,
    /// DHCPOFFER.
    Offer = 2,
    /// DHCPREQUEST.
    Request = 3,
    /// DHCPACK.
    Ack = 5,
    /// DHCPNAK.
    Nak = 6,
}

/// What a server's OFFER or ACK says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Message type (OFFER, ACK or NAK).
    pub kind: MessageType,
    /// `yiaddr`: the address for us.
    pub addr: Ipv4Addr,
    /// Prefix length from the subnet mask (24 when absent).
    pub prefix: u8,
    /// First router.
    pub router: Option<Ipv4Addr>,
    /// DNS servers.
    pub dns: Vec<Ipv4Addr>,
    /// Server identifier.
    pub server: Option<Ipv4Addr>,
    /// Lease time in seconds.
    pub lease_secs: Option<u32>,
}

fn base(xid: u32, mac: [u8; 6], kind: MessageType) -> Vec<u8> {
    let mut b = vec![0u8; HEADER_LEN];
    b[0] = 1; // BOOTREQUEST
    b[1] = 1; // Ethernet
    b[2] = 6; // hardware address length
    b[4..8].copy_from_slice(&xid.to_be_bytes());
    b[10] = 0x80; // broadcast flag: we have no address to receive unicast on
    b[28..34].copy_from_slice(&mac);
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&[OPT_MESSAGE_TYPE, 1, kind as u8]);
    b
}

fn end(mut b: Vec<u8>) -> Vec<u8> {
    b.extend_from_slice(&[
        OPT_PARAM_LIST,
        4,
        OPT_SUBNET_MASK,
        OPT_ROUTER,
        OPT_DNS,
        OPT_LEASE_TIME,
    ]);
    b.push(OPT_END);
    // Some servers ignore messages shorter than the BOOTP minimum of 300 bytes.
    if b.len() < 300 {
        b.resize(300, OPT_PAD);
    }
    b
}

/// A DHCPDISCOVER.
pub fn discover(xid: u32, mac: [u8; 6]) -> Vec<u8> {
    end(base(xid, mac, MessageType::Discover))
}

/// A DHCPREQUEST for an offered address.
pub fn request(xid: u32, mac: [u8; 6], addr: Ipv4Addr, server: Option<Ipv4Addr>) -> Vec<u8> {
    let mut b = base(xid, mac, MessageType::Request);
    b.extend_from_slice(&[OPT_REQUESTED_IP, 4]);
    b.extend_from_slice(&addr.octets());
    if let Some(s) = server {
        b.extend_from_slice(&[OPT_SERVER_ID, 4]);
        b.extend_from_slice(&s.octets());
    }
    end(b)
}

fn ip(bytes: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(bytes.get(..4)?)
        .ok()
        .map(Ipv4Addr::from)
}

/// Parses a server reply meant for `xid` and `mac`; other traffic is an error
/// the caller skips.
pub fn parse_reply(buf: &[u8], xid: u32, mac: [u8; 6]) -> Result<Lease, Error> {
    if buf.len() < HEADER_LEN + 4 {
        return Err(Error::Dhcp("reply shorter than a BOOTP header"));
    }
    if buf[0] != 2 {
        return Err(Error::Dhcp("not a BOOTREPLY"));
    }
    if buf[4..8] != xid.to_be_bytes() || buf[28..34] != mac {
        return Err(Error::Dhcp("reply for another transaction"));
    }
    if buf[HEADER_LEN..HEADER_LEN + 4] != MAGIC {
        return Err(Error::Dhcp("no DHCP magic cookie"));
    }
    let addr = ip(&buf[16..20]).ok_or(Error::Dhcp("no yiaddr"))?;
    let mut lease = Lease {
        kind: MessageType::Nak,
        addr,
        prefix: 24,
        router: None,
        dns: Vec::new(),
        server: None,
        lease_secs: None,
    };
    let mut kind = None;
    let mut opts = &buf[HEADER_LEN + 4..];
    while let [code, rest @ ..] = opts {
        match *code {
            OPT_PAD => {
                opts = rest;
                continue;
            }
            OPT_END => break,
            _ => {}
        }
        let [len, rest @ ..] = rest else {
            return Err(Error::Dhcp("option without length"));
        };
        let len = usize::from(*len);
        if rest.len() < len {
            return Err(Error::Dhcp("option overruns the message"));
        }
        let (val, next) = rest.split_at(len);
        match *code {
            OPT_MESSAGE_TYPE => {
                kind = match val.first() {
                    Some(2) => Some(MessageType::Offer),
                    Some(5) => Some(MessageType::Ack),
                    Some(6) => Some(MessageType::Nak),
                    _ => return Err(Error::Dhcp("not an OFFER, ACK or NAK")),
                }
            }
            OPT_SUBNET_MASK => {
                let mask = u32::from(ip(val).ok_or(Error::Dhcp("short subnet mask"))?);
                if mask.leading_ones() + mask.trailing_zeros() != 32 {
                    return Err(Error::Dhcp("subnet mask is not contiguous"));
                }
                lease.prefix = mask.leading_ones() as u8;
            }
            OPT_ROUTER => lease.router = ip(val),
            OPT_DNS => lease.dns = val.chunks_exact(4).filter_map(ip).collect(),
            OPT_SERVER_ID => lease.server = ip(val),
            OPT_LEASE_TIME => lease.lease_secs = ip(val).map(u32::from),
            _ => {}
        }
        opts = next;
    }
    lease.kind = kind.ok_or(Error::Dhcp("no message type"))?;
    Ok(lease)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

    fn reply(kind: u8, xid: u32) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b[0] = 2;
        b[4..8].copy_from_slice(&xid.to_be_bytes());
        b[16..20].copy_from_slice(&[10, 0, 2, 15]);
        b[28..34].copy_from_slice(&MAC);
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&[53, 1, kind, 0, 1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 2, 2]);
        b.extend_from_slice(&[6, 8, 10, 0, 2, 3, 1, 1, 1, 1, 54, 4, 10, 0, 2, 2]);
        b.extend_from_slice(&[51, 4, 0, 1, 81, 128, 255]);
        b
    }

    #[test]
    fn requests_are_well_formed() {
        let d = discover(0xdead_beef, MAC);
        assert_eq!(d.len(), 300);
        assert_eq!(&d[4..8], &0xdead_beefu32.to_be_bytes());
        assert_eq!(&d[236..243], &[99, 130, 83, 99, 53, 1, 1]);
        let r = request(
            1,
            MAC,
            Ipv4Addr::new(10, 0, 2, 15),
            Some(Ipv4Addr::new(10, 0, 2, 2)),
        );
        assert_eq!(&r[240..243], &[53, 1, 3]);
        assert_eq!(&r[243..249], &[50, 4, 10, 0, 2, 15]);
        assert_eq!(&r[249..255], &[54, 4, 10, 0, 2, 2]);
    }

    #[test]
    fn parses_offer() {
        let l = parse_reply(&reply(2, 9), 9, MAC).unwrap();
        assert_eq!(
            l,
            Lease {
                kind: MessageType::Offer,
                addr: Ipv4Addr::new(10, 0, 2, 15),
                prefix: 24,
                router: Some(Ipv4Addr::new(10, 0, 2, 2)),
                dns: vec![Ipv4Addr::new(10, 0, 2, 3), Ipv4Addr::new(1, 1, 1, 1)],
                server: Some(Ipv4Addr::new(10, 0, 2, 2)),
                lease_secs: Some(86400),
            }
        );
        assert_eq!(
            parse_reply(&reply(5, 9), 9, MAC).unwrap().kind,
            MessageType::Ack
        );
    }

    #[test]
    fn rejects_foreign_or_bad_replies() {
        assert!(parse_reply(&reply(2, 9), 8, MAC).is_err());
        assert!(parse_reply(&reply(1, 9), 9, MAC).is_err());
        let mut b = reply(2, 9);
        b[236] = 0;
        assert!(parse_reply(&b, 9, MAC).is_err());
        let mut b = reply(2, 9);
        b[246..250].copy_from_slice(&[255, 0, 255, 0]);
        assert!(parse_reply(&b, 9, MAC).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(tail in proptest::collection::vec(any::<u8>(), 0..128)) {
            let mut b = reply(2, 9);
            b.truncate(240);
            b.extend_from_slice(&tail);
            let _ = parse_reply(&b, 9, MAC);
            let _ = parse_reply(&tail, 9, MAC);
        }
    }
}
