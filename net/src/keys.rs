//! The key directory shared by clients and woof-proxy (woof(7), "Keys"):
//!
//! ```text
//! DIR/id.key            this party's CURVE secret key (Z85, 40 chars; mode 0600)
//! DIR/id.pub            its public key (give this to the other side)
//! DIR/servers/HOST.pub  (clients) the public key of the proxy at HOST (or HOST:PORT.pub)
//! DIR/clients/NAME.pub  (proxy) a client allowed in; NAME is who it is in the ACL
//! DIR/acl               (proxy) which client may do what in which namespace
//! ```
//!
//! Like ssh: each side makes its own pair (`woof-proxy --gen-keys DIR`) and copies
//! only public keys to the other. A client uses CURVE towards a host exactly when it
//! holds that host's public key; without one it speaks plain ZMTP, which a proxy with
//! keys refuses (the client then says which file is missing).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use woof::{Error, ErrorKind};

/// A key directory.
#[derive(Debug, Clone)]
pub struct KeyDir {
    pub dir: PathBuf,
}

/// A CURVE key as its 40-character Z85 text.
pub type Z85Key = String;

impl KeyDir {
    pub fn new(dir: impl Into<PathBuf>) -> KeyDir {
        KeyDir { dir: dir.into() }
    }

    /// The client's key directory: `--keys`, else `$WOOF_KEYS`, else `~/.woof/keys`.
    pub fn for_client(explicit: Option<&Path>) -> KeyDir {
        if let Some(d) = explicit {
            return KeyDir::new(d);
        }
        if let Some(d) = std::env::var_os("WOOF_KEYS").filter(|d| !d.is_empty()) {
            return KeyDir::new(d);
        }
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
        KeyDir::new(Path::new(&home).join(".woof/keys"))
    }

    pub fn secret_path(&self) -> PathBuf {
        self.dir.join("id.key")
    }

    pub fn public_path(&self) -> PathBuf {
        self.dir.join("id.pub")
    }

    pub fn acl_path(&self) -> PathBuf {
        self.dir.join("acl")
    }

    /// This party's key pair (public, secret). The secret must not be readable by
    /// group or others, as ssh insists for its keys.
    pub fn identity(&self) -> Result<(Z85Key, Z85Key), Error> {
        let secret_path = self.secret_path();
        let meta = fs::metadata(&secret_path).map_err(|e| {
            Error::io(secret_path.display().to_string(), e).detail(format!(
                "no key pair in {} (make one with: woof-proxy --gen-keys {})",
                self.dir.display(),
                self.dir.display()
            ))
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(
                Error::new(ErrorKind::Denied, secret_path.display().to_string()).detail(format!(
                    "secret key is readable by others (mode {:o}); chmod 600 it",
                    meta.permissions().mode() & 0o777
                )),
            );
        }
        Ok((read_key(&self.public_path())?, read_key(&secret_path)?))
    }

    /// The public key of the proxy at `host` (`port` first: `servers/HOST:PORT.pub`,
    /// then `servers/HOST.pub`), or None when this directory holds none.
    pub fn server_key(&self, host: &str, port: u16) -> Result<Option<Z85Key>, Error> {
        for file in [format!("{host}:{port}.pub"), format!("{host}.pub")] {
            let path = self.dir.join("servers").join(&file);
            match read_key(&path) {
                Ok(k) => return Ok(Some(k)),
                Err(e) if *e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// The clients allowed in (`clients/NAME.pub`), as (NAME, key), sorted by name.
    pub fn clients(&self) -> Result<Vec<(String, Z85Key)>, Error> {
        let dir = self.dir.join("clients");
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(dir.display().to_string(), e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir.display().to_string(), e))?;
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".pub")) else {
                continue;
            };
            woof::name::validate("client name", name)
                .map_err(|e| e.within(dir.display().to_string()))?;
            out.push((name.to_string(), read_key(&entry.path())?));
        }
        out.sort();
        Ok(out)
    }

    /// Writes a new key pair as `id.key` (0600) and `id.pub`; refuses to overwrite.
    pub fn write_identity(&self, public: &str, secret: &str) -> Result<(), Error> {
        let ctx = self.dir.display().to_string();
        fs::create_dir_all(&self.dir).map_err(|e| Error::io(ctx.clone(), e))?;
        for sub in ["servers", "clients"] {
            fs::create_dir_all(self.dir.join(sub)).map_err(|e| Error::io(ctx.clone(), e))?;
        }
        for (path, text, mode) in [
            (self.secret_path(), secret, 0o600),
            (self.public_path(), public, 0o644),
        ] {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
                .map_err(|e| {
                    let e = Error::io(path.display().to_string(), e);
                    if *e.kind() == ErrorKind::Exists {
                        e.detail("a key pair is already there (remove it first to replace it)")
                    } else {
                        e
                    }
                })?;
            writeln!(f, "{text}").map_err(|e| Error::io(path.display().to_string(), e))?;
        }
        Ok(())
    }
}

/// Reads a key file: 40 Z85 characters, surrounding whitespace ignored.
pub fn read_key(path: &Path) -> Result<Z85Key, Error> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    let key = text.trim();
    if crate::z85::decode_key(key).is_err() {
        return Err(Error::new(ErrorKind::BadData, path.display().to_string())
            .detail("not a CURVE key (expected 40 Z85 characters)"));
    }
    Ok(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

    #[test]
    fn identity_round_trips_and_guards_the_secret() {
        let tmp = std::env::temp_dir().join(format!("woof-keys-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let kd = KeyDir::new(&tmp);
        assert_eq!(
            kd.identity().expect_err("none").kind(),
            &ErrorKind::NotFound
        );
        kd.write_identity(K, K).expect("write");
        assert_eq!(kd.identity().expect("read"), (K.to_string(), K.to_string()));
        assert_eq!(
            kd.write_identity(K, K).expect_err("twice").kind(),
            &ErrorKind::Exists
        );
        fs::set_permissions(kd.secret_path(), fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(
            kd.identity()
                .expect_err("open")
                .to_string()
                .contains("chmod 600")
        );
        fs::write(tmp.join("servers/h.pub"), format!("{K}\n")).expect("server");
        assert_eq!(kd.server_key("h", 1).expect("h"), Some(K.to_string()));
        assert_eq!(kd.server_key("other", 1).expect("none"), None);
        fs::write(tmp.join("clients/edge.pub"), "short").expect("client");
        assert_eq!(kd.clients().expect_err("bad").kind(), &ErrorKind::BadData);
        let _ = fs::remove_dir_all(&tmp);
    }
}
