//! The service over real sockets: evidence signed by the simulated PSP
//! verifies with aether-evidence against a policy trusting the simulated
//! root, carries the launch measurement the service was created with and
//! the report data the client chose; refusals are clear.

use aether_evidence::{EvidencePolicy, LaunchMeasurement, TeeKind, TrustRoot, verify};
use aether_sim_psp::protocol::{ErrorCode, MAX_FRAME, read_frame, write_frame};
use aether_sim_psp::server::{ListenAddr, Log, Server, SimPsp};
use aether_sim_psp::{Client, ClientError, DEFAULT_PORT_NAME, PspAddr, ResponseFrame};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NOW: u64 = 1_800_000_000;

fn quiet() -> Log {
    Arc::new(|_: &str| {})
}

fn policy() -> EvidencePolicy {
    EvidencePolicy::production().with_simulated()
}

#[test]
fn snp_evidence_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("psp.sock");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l2 = Arc::clone(&lines);
    let m = [0x5a; 48];
    let server = Server::start(
        SimPsp::new(LaunchMeasurement::Snp(m), "test launch"),
        &ListenAddr::Unix(sock.clone()),
        Arc::new(move |s: &str| l2.lock().unwrap().push(s.to_string())),
    )
    .unwrap();
    let mut c = Client::connect(server.addr(), Duration::from_secs(10)).unwrap();
    assert_eq!(c.info().unwrap(), (TeeKind::Snp, "test launch".to_string()));
    for n in 0..3u8 {
        let rd = [n; 64];
        let e = c.evidence(TeeKind::Snp, rd).unwrap();
        let claims = verify(&e, &policy(), NOW).unwrap();
        assert_eq!(claims.measurement, LaunchMeasurement::Snp(m));
        assert_eq!(claims.report_data, rd);
        assert_eq!(claims.root, TrustRoot::Simulated);
        // Version 5 by default.
        let aether_evidence::Evidence::Snp { report, .. } = &e else {
            panic!()
        };
        assert_eq!(u32::from_le_bytes(report[..4].try_into().unwrap()), 5);
        // The production policy refuses the simulated root.
        assert_eq!(
            verify(&e, &EvidencePolicy::production(), NOW)
                .unwrap_err()
                .check(),
            "root_not_allowed"
        );
    }
    // Wrong TEE: refused with its own code; the connection goes on.
    match c.evidence(TeeKind::Tdx, [0; 64]) {
        Err(ClientError::Refused {
            code: ErrorCode::WrongTee,
            message,
        }) => {
            assert!(message.contains("launched as snp"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    c.evidence(TeeKind::Snp, [9; 64]).unwrap();
    let log = lines.lock().unwrap().join("\n");
    assert!(
        log.contains("snp evidence for report data 0000000000000000"),
        "{log}"
    );
    assert!(log.contains("refused: wrong TEE"), "{log}");
    drop(server);
    assert!(
        !sock.exists(),
        "the socket is removed when the server stops"
    );
}

#[test]
fn tdx_evidence_and_report_version_3_over_tcp() {
    let mrtd = [1u8; 48];
    let rtmr = [[2u8; 48], [3; 48], [4; 48], [0; 48]];
    let server = Server::start(
        SimPsp::new(LaunchMeasurement::Tdx { mrtd, rtmr }, "tdx launch"),
        &"tcp:127.0.0.1:0".parse().unwrap(),
        quiet(),
    )
    .unwrap();
    let addr = server.addr().to_string();
    let mut c = Client::connect(&addr.parse().unwrap(), Duration::from_secs(30)).unwrap();
    let e = c.evidence(TeeKind::Tdx, [7; 64]).unwrap();
    let claims = verify(&e, &policy(), NOW).unwrap();
    assert_eq!(claims.measurement, LaunchMeasurement::Tdx { mrtd, rtmr });
    assert_eq!(claims.report_data, [7; 64]);

    let mut psp = SimPsp::new(LaunchMeasurement::Snp([1; 48]), "v3");
    psp.snp.version = 3;
    let server = Server::start(psp, &"tcp:127.0.0.1:0".parse().unwrap(), quiet()).unwrap();
    let mut c = Client::connect(server.addr(), Duration::from_secs(10)).unwrap();
    let e = c.evidence(TeeKind::Snp, [1; 64]).unwrap();
    let aether_evidence::Evidence::Snp { report, .. } = &e else {
        panic!()
    };
    assert_eq!(u32::from_le_bytes(report[..4].try_into().unwrap()), 3);
    verify(&e, &policy(), NOW).unwrap();
}

#[test]
fn malformed_frames_get_an_error_and_the_connection_closes() {
    let psp = SimPsp::new(LaunchMeasurement::Snp([0; 48]), "x");
    let server = Server::start(psp, &"tcp:127.0.0.1:0".parse().unwrap(), quiet()).unwrap();
    let PspAddr::Tcp(a) = server.addr().clone() else {
        panic!()
    };
    // Bad magic: an ERROR frame (id 0), then end of stream.
    let mut s = std::net::TcpStream::connect(&a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write_frame(&mut s, b"XXXX\x01\x01\0\0\0\0\0\0\0\x01").unwrap();
    let body = read_frame(&mut s).unwrap().unwrap();
    let f = ResponseFrame::decode(&body).unwrap();
    assert!(matches!(
        f.response,
        aether_sim_psp::Response::Error {
            code: ErrorCode::Malformed,
            ..
        }
    ));
    assert!(read_frame(&mut s).unwrap().is_none());
    // Another version: UnsupportedVersion with the request's id.
    let mut s = std::net::TcpStream::connect(&a).unwrap();
    write_frame(&mut s, b"APSP\x02\x01\0\0\0\0\0\0\0\x07").unwrap();
    let f = ResponseFrame::decode(&read_frame(&mut s).unwrap().unwrap()).unwrap();
    assert_eq!(f.id, 7);
    assert!(matches!(
        f.response,
        aether_sim_psp::Response::Error {
            code: ErrorCode::UnsupportedVersion,
            ..
        }
    ));
    // A length above the bound: refused without reading a body.
    let mut s = std::net::TcpStream::connect(&a).unwrap();
    s.write_all(&(MAX_FRAME as u32 + 1).to_be_bytes()).unwrap();
    let f = ResponseFrame::decode(&read_frame(&mut s).unwrap().unwrap()).unwrap();
    assert!(matches!(
        f.response,
        aether_sim_psp::Response::Error {
            code: ErrorCode::Malformed,
            ..
        }
    ));
}

#[test]
fn stale_answers_are_skipped_and_timeouts_reported() {
    // A fake PSP that first sends an answer to an earlier request (another id).
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap().to_string();
    let psp = SimPsp::new(LaunchMeasurement::Snp([3; 48]), "stale");
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let body = read_frame(&mut s).unwrap().unwrap();
        let req = aether_sim_psp::RequestFrame::decode(&body).unwrap();
        let mut stale = psp.handle(&req);
        stale.id = req.id.wrapping_sub(1000);
        write_frame(&mut s, &stale.encode()).unwrap();
        write_frame(&mut s, &psp.handle(&req).encode()).unwrap();
        // The second request gets no answer.
        let _ = read_frame(&mut s);
        std::thread::sleep(Duration::from_secs(3));
    });
    let mut c = Client::connect(&PspAddr::Tcp(a), Duration::from_millis(800)).unwrap();
    let e = c.evidence(TeeKind::Snp, [5; 64]).unwrap();
    assert_eq!(e.claimed_report_data().unwrap(), [5; 64]);
    let r = c.evidence(TeeKind::Snp, [6; 64]);
    assert!(matches!(r, Err(ClientError::Timeout(_))), "{r:?}");
}

#[test]
fn connection_errors_name_the_address() {
    let err = Client::connect(
        &PspAddr::Unix("/nonexistent/psp.sock".into()),
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unix:/nonexistent/psp.sock"),
        "{err}"
    );
    assert!("virtio:".parse::<PspAddr>().is_err());
    assert_eq!(
        format!("virtio:{DEFAULT_PORT_NAME}")
            .parse::<PspAddr>()
            .unwrap(),
        PspAddr::Virtio(DEFAULT_PORT_NAME.into())
    );
}
