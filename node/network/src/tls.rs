//! Node identity on the wire: the validator's ed25519 key in a self-signed
//! TLS certificate, and the verifiers that admit only known keys.
//!
//! # Identity
//! A node's identity **is** its ed25519 node key
//! (`aether_crypto::ed25519::Keypair`). [`NodeIdentity`] wraps it in a
//! self-signed X.509 certificate (rcgen; subject and dates carry no
//! meaning) so that TLS 1.3 proves possession of the key in every
//! handshake, both ways (QUIC mutual TLS, ALPN [`ALPN`]).
//!
//! # Verification
//! Certificates are not checked against any CA: a peer is who its key
//! says. Each verifier extracts the ed25519 key from the presented
//! certificate ([`certificate_key`]: exactly one certificate, an Ed25519
//! SubjectPublicKeyInfo, nothing else), decides whether that key may
//! connect, and verifies the handshake signature **under that extracted
//! key** (rebuilt as a SubjectPublicKeyInfo, so no second parser can read
//! another key from the same bytes). Only the Ed25519 signature scheme is
//! offered.
//! - [`ExpectedServer`] (the dialler's check): the server must present the
//!   key of the validator being dialled (a connection to the wrong node, or
//!   to an impostor at the right address, fails).
//! - [`KnownClients`] (the listener's check): the client's key must belong
//!   to the validator set, or, when full nodes are accepted, may be any
//!   valid key (the node then treats the connection as read-only).
//!
//! # Stateless reset
//! The QUIC stateless-reset key is derived from the node key
//! (`blake3::derive_key("aether/network/stateless-reset/v1", secret)`), so a
//! node that restarts with the same identity on the same address can
//! reset its peers' stale connections on their next packet, and they
//! redial at once instead of waiting for the idle timeout. The key of the
//! connection-id generator (quinn's hashed ids, which an endpoint checks
//! before it answers an unknown id with a reset) is derived the same way
//! (`"aether/network/connection-id/v1"`): a restarted node recognises the
//! ids its previous run issued, so it does reset them.

use crate::error::NetworkError;
use aether_crypto::ed25519::Keypair;
use aether_types::PublicKey;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, SubjectPublicKeyInfoDer,
    UnixTime,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::collections::HashSet;
use std::sync::Arc;

/// The ALPN protocol of this wire version.
pub const ALPN: &[u8] = b"aether/1";
/// The server name the dialler sends (ignored by the verifiers).
pub const SERVER_NAME: &str = "aether-node";
/// Derivation context of the stateless-reset key.
pub const RESET_KEY_CONTEXT: &str = "aether/network/stateless-reset/v1";
/// Derivation context of the connection-id key.
pub const CID_KEY_CONTEXT: &str = "aether/network/connection-id/v1";

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the
/// 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER prefix of an Ed25519 PKCS#8 v1 private key (RFC 8410), before the
/// 32-byte seed. Written by hand: the seed is all `aether_crypto` exposes,
/// and this fixed 16-byte header is the whole encoding.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The rustls crypto provider of the network (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A node's TLS identity (see the module docs).
pub struct NodeIdentity {
    keypair: Keypair,
    certificate: CertificateDer<'static>,
}

impl std::fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeIdentity({:?})", self.keypair.public_key())
    }
}

impl NodeIdentity {
    /// Wraps the node key in a fresh self-signed certificate.
    pub fn new(keypair: &Keypair) -> Result<Self, NetworkError> {
        let pkcs8 = PrivatePkcs8KeyDer::from(pkcs8(keypair));
        let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519)
            .map_err(|e| NetworkError::Tls(format!("node key: {e}")))?;
        let params = rcgen::CertificateParams::new(vec![SERVER_NAME.to_string()])
            .map_err(|e| NetworkError::Tls(e.to_string()))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| NetworkError::Tls(e.to_string()))?;
        Ok(NodeIdentity {
            keypair: keypair.clone(),
            certificate: cert.der().clone(),
        })
    }

    /// The node key's public half.
    pub fn public_key(&self) -> PublicKey {
        self.keypair.public_key()
    }

    /// The node key.
    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// The self-signed certificate.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8(&self.keypair)))
    }

    /// The stateless-reset key bytes (see the module docs).
    pub fn reset_key_bytes(&self) -> [u8; 32] {
        blake3::derive_key(RESET_KEY_CONTEXT, &self.keypair.secret_bytes())
    }

    /// The stateless-reset key as quinn takes it.
    pub fn reset_key(&self) -> Arc<dyn quinn::crypto::HmacKey> {
        Arc::new(ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            &self.reset_key_bytes(),
        ))
    }

    /// The QUIC endpoint configuration: the reset key and the
    /// connection-id generator keyed from the node key (see the module docs).
    pub fn endpoint_config(&self) -> quinn::EndpointConfig {
        let mut config = quinn::EndpointConfig::new(self.reset_key());
        let derived = blake3::derive_key(CID_KEY_CONTEXT, &self.keypair.secret_bytes());
        let mut k = [0u8; 8];
        k.copy_from_slice(&derived[..8]);
        let cid_key = u64::from_le_bytes(k);
        config.cid_generator(move || {
            Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key))
        });
        config
    }

    /// The rustls server configuration: present this identity, require a
    /// client certificate accepted by `clients`.
    pub fn server_config(
        &self,
        clients: Arc<KnownClients>,
    ) -> Result<rustls::ServerConfig, NetworkError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| NetworkError::Tls(e.to_string()))?
            .with_client_cert_verifier(clients)
            .with_single_cert(vec![self.certificate.clone()], self.private_key())
            .map_err(|e| NetworkError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![ALPN.to_vec()];
        Ok(config)
    }

    /// The rustls client configuration for dialling the node whose key is
    /// `server`: present this identity, accept only that key.
    pub fn client_config(&self, server: PublicKey) -> Result<rustls::ClientConfig, NetworkError> {
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| NetworkError::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ExpectedServer::new(server)))
            .with_client_auth_cert(vec![self.certificate.clone()], self.private_key())
            .map_err(|e| NetworkError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![ALPN.to_vec()];
        Ok(config)
    }
}

fn pkcs8(keypair: &Keypair) -> Vec<u8> {
    let mut der = ED25519_PKCS8_PREFIX.to_vec();
    der.extend_from_slice(&keypair.secret_bytes());
    der
}

fn bad_encoding() -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
}

/// The ed25519 key of a certificate: its SubjectPublicKeyInfo must be
/// Ed25519 (OID 1.3.101.112, no parameters) with a 32-byte key, and the
/// DER must have no trailing bytes.
pub fn certificate_key(cert: &CertificateDer<'_>) -> Result<PublicKey, rustls::Error> {
    let (rest, parsed) =
        x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| bad_encoding())?;
    if !rest.is_empty() {
        return Err(bad_encoding());
    }
    let spki = parsed.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_SIG_ED25519
        || spki.algorithm.parameters.is_some()
        || spki.subject_public_key.unused_bits != 0
    {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure,
        ));
    }
    let key: [u8; 32] = spki
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| bad_encoding())?;
    Ok(PublicKey(key))
}

fn spki_of(key: &PublicKey) -> SubjectPublicKeyInfoDer<'static> {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(&key.0);
    SubjectPublicKeyInfoDer::from(der)
}

fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// Verifies a TLS 1.3 handshake signature under the key of `cert`.
fn verify_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    if dss.scheme != SignatureScheme::ED25519 {
        return Err(rustls::Error::PeerMisbehaved(
            rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
        ));
    }
    let key = certificate_key(cert)?;
    rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki_of(&key), dss, &algorithms())
}

/// The handshake-signature methods both verifiers share: TLS 1.2 refused,
/// TLS 1.3 Ed25519 under the certificate's key.
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::Tls12NotOffered,
            ))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            vec![SignatureScheme::ED25519]
        }
    };
}

/// The dialler's verifier: the server must hold one given key.
#[derive(Debug)]
pub struct ExpectedServer {
    key: PublicKey,
}

impl ExpectedServer {
    /// Accepts only `key`.
    pub fn new(key: PublicKey) -> Self {
        ExpectedServer { key }
    }
}

impl ServerCertVerifier for ExpectedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !intermediates.is_empty() {
            return Err(bad_encoding());
        }
        if certificate_key(end_entity)? != self.key {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

/// The listener's verifier: validators, and full nodes if allowed.
#[derive(Debug)]
pub struct KnownClients {
    validators: HashSet<PublicKey>,
    accept_unknown: bool,
}

impl KnownClients {
    /// Accepts the keys of `validators`, and any key if `accept_unknown`.
    pub fn new(validators: impl IntoIterator<Item = PublicKey>, accept_unknown: bool) -> Self {
        KnownClients {
            validators: validators.into_iter().collect(),
            accept_unknown,
        }
    }
}

impl ClientCertVerifier for KnownClients {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if !intermediates.is_empty() {
            return Err(bad_encoding());
        }
        let key = certificate_key(end_entity)?;
        if self.accept_unknown || self.validators.contains(&key) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    handshake_signatures!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_carries_the_node_key() {
        let k = Keypair::from_secret_bytes(&[3; 32]);
        let id = NodeIdentity::new(&k).unwrap();
        assert_eq!(certificate_key(id.certificate()).unwrap(), k.public_key());
        // The SPKI we rebuild is the one in the certificate.
        let der = id.certificate().as_ref();
        let spki = spki_of(&k.public_key());
        assert!(der.windows(spki.len()).any(|w| w == spki.as_ref()));
    }

    #[test]
    fn the_reset_key_is_bound_to_the_node_key() {
        let a = NodeIdentity::new(&Keypair::from_secret_bytes(&[1; 32])).unwrap();
        let a2 = NodeIdentity::new(&Keypair::from_secret_bytes(&[1; 32])).unwrap();
        let b = NodeIdentity::new(&Keypair::from_secret_bytes(&[2; 32])).unwrap();
        assert_eq!(a.reset_key_bytes(), a2.reset_key_bytes());
        assert_ne!(a.reset_key_bytes(), b.reset_key_bytes());
        assert_ne!(a.reset_key_bytes(), a.keypair().secret_bytes());
    }

    #[test]
    fn verifiers_admit_only_known_keys() {
        let a = NodeIdentity::new(&Keypair::from_secret_bytes(&[1; 32])).unwrap();
        let b = NodeIdentity::new(&Keypair::from_secret_bytes(&[2; 32])).unwrap();
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        let now = UnixTime::now();
        let expect_a = ExpectedServer::new(a.public_key());
        assert!(
            expect_a
                .verify_server_cert(a.certificate(), &[], &name, &[], now)
                .is_ok()
        );
        assert!(
            expect_a
                .verify_server_cert(b.certificate(), &[], &name, &[], now)
                .is_err()
        );
        assert!(
            expect_a
                .verify_server_cert(a.certificate(), &[b.certificate().clone()], &name, &[], now)
                .is_err(),
            "no chains"
        );
        let only_a = KnownClients::new([a.public_key()], false);
        assert!(only_a.verify_client_cert(a.certificate(), &[], now).is_ok());
        assert!(
            only_a
                .verify_client_cert(b.certificate(), &[], now)
                .is_err()
        );
        let open = KnownClients::new([a.public_key()], true);
        assert!(open.verify_client_cert(b.certificate(), &[], now).is_ok());
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(open.verify_client_cert(&garbage, &[], now).is_err());
    }
}
