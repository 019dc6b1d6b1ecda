//! A certificate authority and a server certificate for 127.0.0.1, made with the `openssl`
//! command, so a test broker can serve TLS and clients can trust it (`ssl.ca.location`), as they
//! trust Confluent Cloud's.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files a TLS listener needs, and the authority a client must trust.
#[derive(Debug)]
pub struct Certificates {
    /// The server's certificate, signed by `ca` (`--cert`).
    pub cert: PathBuf,
    /// The server's private key, PKCS#8 (`--key`).
    pub key: PathBuf,
    /// The certificate authority that signed `cert`: `ssl.ca.location`.
    pub ca: PathBuf,
}

fn openssl(folder: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(folder)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Certificates {
    /// Makes a one-day authority and a server certificate for IP 127.0.0.1 in `folder`.
    pub fn make(folder: &Path) -> Self {
        std::fs::create_dir_all(folder).expect("certificates folder");
        openssl(
            folder,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=pizza-tests CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        );
        openssl(
            folder,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        );
        std::fs::write(folder.join("san.ext"), "subjectAltName = IP:127.0.0.1\n").expect("san");
        openssl(
            folder,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "san.ext",
                "-out",
                "server.pem",
            ],
        );
        Self {
            cert: folder.join("server.pem"),
            key: folder.join("server.key"),
            ca: folder.join("ca.pem"),
        }
    }
}
