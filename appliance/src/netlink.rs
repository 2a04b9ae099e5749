//! rtnetlink request encoding for the three things the appliance configures:
//! bring a link up, add an IPv4 address, add a route.
//!
//! Hand-written on purpose: these are three fixed messages of a stable kernel
//! ABI (`linux/rtnetlink.h`), about a hundred lines, whereas the
//! `netlink-packet-route` family would add several crates (and an async
//! runtime with `rtnetlink`) to a PID 1 that should stay small. The kernel's
//! answer is parsed by [`parse_ack`]; the socket I/O is in the binary.

use crate::error::Error;
use std::net::Ipv4Addr;

/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_NEWROUTE`.
pub const RTM_NEWROUTE: u16 = 24;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_CREATE: u16 = 0x400;
const AF_INET: u8 = 2;
const IFF_UP: u32 = 0x1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;

fn header(buf: &mut Vec<u8>, ty: u16, flags: u16, seq: u32) {
    buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched by finish()
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
}

fn attr(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

fn finish(mut buf: Vec<u8>) -> Vec<u8> {
    let len = buf.len() as u32;
    buf[0..4].copy_from_slice(&len.to_ne_bytes());
    buf
}

/// `RTM_NEWLINK` setting `IFF_UP` on interface `index`.
pub fn link_up(index: u32, seq: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(32);
    header(&mut b, RTM_NEWLINK, 0, seq);
    b.extend_from_slice(&[0, 0]); // family, pad
    b.extend_from_slice(&0u16.to_ne_bytes()); // type
    b.extend_from_slice(&(index as i32).to_ne_bytes());
    b.extend_from_slice(&IFF_UP.to_ne_bytes()); // flags
    b.extend_from_slice(&IFF_UP.to_ne_bytes()); // change mask
    finish(b)
}

/// `RTM_NEWADDR` adding `addr/prefix` (with its broadcast address) to `index`.
pub fn add_address(index: u32, addr: Ipv4Addr, prefix: u8, seq: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(48);
    header(&mut b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, seq);
    b.extend_from_slice(&[AF_INET, prefix.min(32), 0, RT_SCOPE_UNIVERSE]);
    b.extend_from_slice(&index.to_ne_bytes());
    attr(&mut b, IFA_LOCAL, &addr.octets());
    attr(&mut b, IFA_ADDRESS, &addr.octets());
    if prefix < 31 {
        let bcast = u32::from(addr) | !crate::cmdline::prefix_mask(prefix);
        attr(&mut b, IFA_BROADCAST, &bcast.to_be_bytes());
    }
    finish(b)
}

/// `RTM_NEWROUTE` for `dst/dst_len` out of `index`, through `gateway` when
/// given (otherwise an on-link route).
pub fn add_route(
    index: u32,
    dst: Ipv4Addr,
    dst_len: u8,
    gateway: Option<Ipv4Addr>,
    seq: u32,
) -> Vec<u8> {
    let mut b = Vec::with_capacity(52);
    header(&mut b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, seq);
    let scope = if gateway.is_some() {
        RT_SCOPE_UNIVERSE
    } else {
        RT_SCOPE_LINK
    };
    b.extend_from_slice(&[
        AF_INET,
        dst_len.min(32),
        0,
        0,
        RT_TABLE_MAIN,
        RTPROT_BOOT,
        scope,
        RTN_UNICAST,
    ]);
    b.extend_from_slice(&0u32.to_ne_bytes()); // flags
    if dst_len > 0 {
        attr(&mut b, RTA_DST, &dst.octets());
    }
    attr(&mut b, RTA_OIF, &index.to_ne_bytes());
    if let Some(gw) = gateway {
        attr(&mut b, RTA_GATEWAY, &gw.octets());
    }
    finish(b)
}

/// Reads the kernel's acknowledgement of request `seq`: `Ok(true)` for
/// success, `Ok(false)` when `buf` holds other messages only, an error for a
/// refusal or a malformed answer.
pub fn parse_ack(buf: &[u8], seq: u32) -> Result<bool, Error> {
    let mut rest = buf;
    while rest.len() >= 16 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let ty = u16::from_ne_bytes([rest[4], rest[5]]);
        let mseq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
        if len < 16 || len > rest.len() {
            return Err(Error::Netlink("message length out of bounds"));
        }
        if ty == NLMSG_ERROR && mseq == seq {
            if len < 20 {
                return Err(Error::Netlink("truncated error message"));
            }
            let errno = i32::from_ne_bytes([rest[16], rest[17], rest[18], rest[19]]);
            return if errno == 0 {
                Ok(true)
            } else {
                Err(Error::NetlinkErrno(-errno))
            };
        }
        rest = &rest[len.next_multiple_of(4).min(rest.len())..];
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn link_up_layout() {
        let m = link_up(2, 7);
        assert_eq!(m.len(), 32);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 32);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), RTM_NEWLINK);
        assert_eq!(u32::from_ne_bytes(m[8..12].try_into().unwrap()), 7);
        assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 2);
    }

    #[test]
    fn address_has_local_address_and_broadcast() {
        let m = add_address(2, Ipv4Addr::new(10, 0, 2, 15), 24, 1);
        // header 16 + ifaddrmsg 8 + 3 attributes of 8
        assert_eq!(m.len(), 48);
        assert_eq!(m[17], 24);
        assert_eq!(&m[28..32], &[10, 0, 2, 15]);
        assert_eq!(&m[44..48], &[10, 0, 2, 255]);
        assert_eq!(add_address(2, Ipv4Addr::new(10, 0, 2, 15), 32, 1).len(), 40);
    }

    #[test]
    fn default_route_via_gateway() {
        let m = add_route(
            2,
            Ipv4Addr::UNSPECIFIED,
            0,
            Some(Ipv4Addr::new(10, 0, 2, 2)),
            3,
        );
        assert_eq!(m.len(), 16 + 12 + 8 + 8);
        assert_eq!(m[16 + 6], RT_SCOPE_UNIVERSE);
        assert_eq!(&m[m.len() - 4..], &[10, 0, 2, 2]);
        let m = add_route(2, Ipv4Addr::new(255, 255, 255, 255), 32, None, 4);
        assert_eq!(m[16 + 6], RT_SCOPE_LINK);
    }

    fn ack(seq: u32, errno: i32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&36u32.to_ne_bytes());
        b.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&errno.to_ne_bytes());
        b.extend_from_slice(&[0; 16]);
        b
    }

    #[test]
    fn acks() {
        assert_eq!(parse_ack(&ack(5, 0), 5), Ok(true));
        assert_eq!(parse_ack(&ack(5, -17), 5), Err(Error::NetlinkErrno(17)));
        assert_eq!(parse_ack(&ack(4, 0), 5), Ok(false));
        assert!(parse_ack(&[0xff; 16], 5).is_err());
    }

    proptest! {
        #[test]
        fn parse_ack_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..256), seq: u32) {
            let _ = parse_ack(&buf, seq);
        }
    }
}
