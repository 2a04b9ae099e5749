//! Property tests of the decoders: no panic on any bytes, round trips of
//! arbitrary frames, and mutations of valid frames either decode to a frame
//! that re-encodes to the same bytes or are refused.

use aether_evidence::{Evidence, TeeKind};
use aether_sim_psp::protocol::{
    ErrorCode, MAX_TEXT, Request, RequestFrame, Response, ResponseFrame, read_frame,
};
use proptest::prelude::*;

fn tee() -> impl Strategy<Value = TeeKind> {
    prop_oneof![Just(TeeKind::Snp), Just(TeeKind::Tdx)]
}

fn request() -> impl Strategy<Value = RequestFrame> {
    let evidence = (
        tee(),
        prop::array::uniform32(any::<u8>()),
        prop::array::uniform32(any::<u8>()),
    )
        .prop_map(|(tee, a, b)| {
            let mut report_data = [0u8; 64];
            report_data[..32].copy_from_slice(&a);
            report_data[32..].copy_from_slice(&b);
            Request::Evidence { tee, report_data }
        });
    (any::<u64>(), prop_oneof![Just(Request::Info), evidence])
        .prop_map(|(id, request)| RequestFrame { id, request })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn response() -> impl Strategy<Value = ResponseFrame> {
    let text = || prop::string::string_regex(".{0,64}").unwrap();
    let r = prop_oneof![
        (tee(), text()).prop_map(|(tee, description)| Response::Info { tee, description }),
        (bytes(1300), bytes(1500), prop::option::of(bytes(300))).prop_map(
            |(report, vek, chain)| Response::Evidence(Evidence::Snp { report, vek, chain })
        ),
        (bytes(6000), bytes(300)).prop_map(|(quote, collateral)| Response::Evidence(
            Evidence::Tdx { quote, collateral }
        )),
        (any::<u16>(), text()).prop_map(|(c, message)| Response::Error {
            code: ErrorCode::from_u16(c),
            message
        }),
    ];
    (any::<u64>(), r).prop_map(|(id, response)| ResponseFrame { id, response })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(b in bytes(400)) {
        let _ = RequestFrame::decode(&b);
        let _ = ResponseFrame::decode(&b);
        let _ = read_frame(&mut &b[..]);
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_header_never_panic(kind in any::<u8>(), rest in bytes(400)) {
        let mut b = b"APSP\x01".to_vec();
        b.push(kind);
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&rest);
        let _ = RequestFrame::decode(&b);
        let _ = ResponseFrame::decode(&b);
    }

    #[test]
    fn requests_round_trip(f in request()) {
        prop_assert_eq!(RequestFrame::decode(&f.encode()).unwrap(), f);
    }

    #[test]
    fn responses_round_trip(f in response()) {
        prop_assert_eq!(ResponseFrame::decode(&f.encode()).unwrap(), f);
    }

    #[test]
    fn mutated_responses_decode_canonically_or_fail(
        f in response(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()
    ) {
        let good = f.encode();
        let n = cut.index(good.len());
        prop_assert!(ResponseFrame::decode(&good[..n]).is_err(), "a strict prefix never decodes");
        let mut b = good;
        let i = at.index(b.len());
        b[i] = byte;
        if let Ok(g) = ResponseFrame::decode(&b) {
            prop_assert_eq!(g.encode(), b, "a decoded frame re-encodes to its bytes");
        }
    }

    #[test]
    fn mutated_requests_decode_canonically_or_fail(f in request(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut b = f.encode();
        let i = at.index(b.len());
        b[i] = byte;
        if let Ok(g) = RequestFrame::decode(&b) {
            prop_assert_eq!(g.encode(), b);
        }
    }
}

#[test]
fn text_bound_matches_the_encoder() {
    let f = ResponseFrame {
        id: 1,
        response: Response::Info {
            tee: TeeKind::Snp,
            description: "x".repeat(MAX_TEXT + 10),
        },
    };
    let Response::Info { description, .. } = ResponseFrame::decode(&f.encode()).unwrap().response
    else {
        panic!()
    };
    assert_eq!(description.len(), MAX_TEXT);
}
