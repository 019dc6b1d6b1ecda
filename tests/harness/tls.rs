//! TLS in front of a broker that has none of its own (tansu 0.6.0 cannot serve TLS): stunnel,
//! from Debian's packages, with a certificate authority and a server certificate for 127.0.0.1
//! made here with the `openssl` command. Clients then speak `SASL_SSL` as they would to
//! Confluent Cloud.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TlsTerminator {
    child: Child,
    /// The certificate authority that signed the server's certificate: `ssl.ca.location`.
    pub ca: PathBuf,
}

fn run(folder: &Path, args: &[&str]) {
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

/// `STUNNEL` names the binary; otherwise Debian's `stunnel4` package installs `stunnel4`.
fn stunnel_binary() -> String {
    std::env::var("STUNNEL").unwrap_or_else(|_| "stunnel4".to_owned())
}

impl TlsTerminator {
    /// Accepts TLS on `tls_port` and passes the plain bytes on to `plain_port`, both on loopback.
    pub fn start(folder: &Path, tls_port: u16, plain_port: u16) -> Self {
        std::fs::create_dir_all(folder).expect("tls folder");
        run(
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
        run(
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
        run(
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
        let config = format!(
            "foreground = yes\npid =\noutput = {log}\n[kafka]\naccept = 127.0.0.1:{tls_port}\n\
             connect = 127.0.0.1:{plain_port}\ncert = {cert}\nkey = {key}\n",
            log = folder.join("stunnel.log").display(),
            cert = folder.join("server.pem").display(),
            key = folder.join("server.key").display(),
        );
        std::fs::write(folder.join("stunnel.conf"), config).expect("stunnel.conf");
        let child = Command::new(stunnel_binary())
            .arg(folder.join("stunnel.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start stunnel ({e}); install it with apt-get install stunnel4 (tests/run.sh does)")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "stunnel did not listen on {tls_port}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        Self {
            child,
            ca: folder.join("ca.pem"),
        }
    }
}

impl Drop for TlsTerminator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
