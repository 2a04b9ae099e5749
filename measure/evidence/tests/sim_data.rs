//! The committed simulated-TEE files are exactly what the seeds give, and
//! they verify as the simulated root.
//!
//! To rewrite them after a deliberate change of the seeds or the test
//! signers: `AETHER_WRITE_SIM=1 cargo test --release -p aether-evidence --test sim_data`.

use std::path::PathBuf;

use aether_evidence::sim;

fn sim_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sim")
}

#[test]
fn committed_files_regenerate_from_the_seeds() {
    let files = sim::regenerate_files();
    if std::env::var_os("AETHER_WRITE_SIM").is_some() {
        for f in &files {
            std::fs::write(sim_dir().join(f.path), &f.bytes).unwrap();
        }
        eprintln!("wrote {} files under {}", files.len(), sim_dir().display());
        return;
    }
    let embedded: [(&str, &str); 7] = [
        ("snp_ark.pem", sim::SNP_ARK_PEM),
        ("snp_ask.pem", sim::SNP_ASK_PEM),
        ("snp_asvk.pem", sim::SNP_ASVK_PEM),
        ("snp_vcek.pem", sim::SNP_VCEK_PEM),
        ("snp_vlek.pem", sim::SNP_VLEK_PEM),
        ("tdx_root.pem", sim::TDX_ROOT_PEM),
        ("tdx_collateral.json", sim::TDX_COLLATERAL_JSON),
    ];
    assert_eq!(files.len(), 9);
    for f in &files {
        let on_disk = std::fs::read(sim_dir().join(f.path)).unwrap();
        assert!(
            on_disk == f.bytes,
            "sim/{} differs from what the seeds give (AETHER_WRITE_SIM=1 rewrites it)",
            f.path
        );
        if let Some((_, text)) = embedded.iter().find(|(p, _)| *p == f.path) {
            assert_eq!(text.as_bytes(), &f.bytes[..], "embedded {}", f.path);
        }
    }
}

#[test]
fn simulated_certificates_are_what_the_module_docs_say() {
    let roots = sim::snp_trust_roots();
    assert_eq!(roots.products(), vec![sim::SNP_PRODUCT]);
    for (pem, cn) in [
        (sim::SNP_ARK_PEM, "ARK-Milan"),
        (sim::SNP_ASK_PEM, "SEV-Milan"),
        (sim::SNP_ASVK_PEM, "SEV-VLEK-Milan"),
        (sim::SNP_VCEK_PEM, "SEV-VCEK"),
        (sim::SNP_VLEK_PEM, "SEV-VLEK"),
    ] {
        let der = pem::parse(pem).unwrap().into_contents();
        let needle = sim::SNP_ORGANIZATION.as_bytes();
        assert!(
            der.windows(needle.len()).any(|w| w == needle),
            "{cn}: organization"
        );
        assert!(der.windows(cn.len()).any(|w| w == cn.as_bytes()), "{cn}");
    }
    let tdx_root = pem::parse(sim::TDX_ROOT_PEM).unwrap().into_contents();
    let cn = b"Aether Test SGX Root CA";
    assert!(tdx_root.windows(cn.len()).any(|w| w == cn));
    assert_ne!(
        sim::tdx_root_sha256(),
        aether_evidence::tdx_evidence::INTEL_SGX_ROOT_CA_SHA256
    );
}
