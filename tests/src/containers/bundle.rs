//! A minimal OCI bundle: a rootfs of the host's static busybox, two files to chmod
//! (`/allowed/f` and `/other/g`, mode 0600), and a config.json that `runc spec` wrote and
//! the test then points at the agent.

use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The syscalls a profile must notify together (DESIGN.md rule 4).
pub const CHMOD_FAMILY: [&str; 4] = ["chmod", "fchmod", "fchmodat", "fchmodat2"];

const APPLETS: [&str; 12] = [
    "sh", "chmod", "stat", "sleep", "mv", "cat", "rm", "touch", "mkdir", "ls", "echo", "true",
];

/// What the container's own process runs: it carries out /cmd.sh whenever the test drops
/// one in, so that the calls come from the container's first filter (the one of its
/// "creating" connection), not from an exec. Output and status go to /cmd.out, then
/// /cmd.sh is renamed /cmd.done. Nothing here calls chmod by itself.
const DRIVER: &str = r#"while :; do
  if [ -f /cmd.sh ]; then
    sh /cmd.sh > /cmd.out 2>&1
    echo "exit=$?" >> /cmd.out
    mv /cmd.sh /cmd.done
  fi
  sleep 0.05
done
"#;

pub struct Bundle {
    dir: tempfile::TempDir,
}

impl Bundle {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("bundle dir");
        let rootfs = dir.path().join("rootfs");
        for d in [
            "bin", "allowed", "other", "data", "proc", "dev", "sys", "tmp",
        ] {
            std::fs::create_dir_all(rootfs.join(d)).expect("mkdir in rootfs");
        }
        crate::engines::install_busybox(&rootfs, &APPLETS);
        std::fs::write(rootfs.join("driver.sh"), DRIVER).expect("driver script");
        let bundle = Self { dir };
        bundle.reset_file("/allowed/f", 0o600);
        bundle.reset_file("/other/g", 0o600);
        let spec = Command::new("runc")
            .args(["spec", "--bundle"])
            .arg(bundle.path())
            .output()
            .expect("spawn `runc spec` (the runc package; run `cargo xtask test`)");
        assert!(
            spec.status.success(),
            "runc spec: {}",
            String::from_utf8_lossy(&spec.stderr)
        );
        bundle
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where a path of the container is on the host.
    pub fn host_path(&self, inside: &str) -> PathBuf {
        self.dir
            .path()
            .join("rootfs")
            .join(inside.trim_start_matches('/'))
    }

    /// (Re)creates a file of the rootfs with `mode`.
    pub fn reset_file(&self, inside: &str, mode: u32) {
        let p = self.host_path(inside);
        std::fs::write(&p, b"x").expect("write rootfs file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    pub fn mode_of(&self, inside: &str) -> u32 {
        crate::mode_of(&self.host_path(inside))
    }

    /// Sets the container's `linux.seccomp` and annotations in the config `runc spec` wrote.
    pub fn configure(&self, seccomp: Value, annotations: &[(&str, &str)]) {
        let text = std::fs::read_to_string(self.path().join("config.json")).expect("config");
        let mut config: Value = serde_json::from_str(&text).expect("config.json is JSON");
        config["root"]["readonly"] = json!(false);
        config["annotations"] = annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        config["linux"]["seccomp"] = seccomp;
        self.write_config(config);
    }

    /// Writes `config` as the bundle's config.json, its process made the driver loop (see
    /// DRIVER) without a terminal.
    pub fn write_config(&self, mut config: Value) {
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(["/bin/sh", "/driver.sh"]);
        std::fs::write(
            self.path().join("config.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .expect("write config.json");
    }
}

impl Default for Bundle {
    fn default() -> Self {
        Self::new()
    }
}

/// `linux.seccomp` for the tests: everything allowed but the chmod family, which the kernel
/// hands to the agent at `listener` with `metadata`.
pub fn notify_chmod_profile(listener: &Path, metadata: &str) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "listenerPath": listener,
        "listenerMetadata": metadata,
        "syscalls": [{ "names": CHMOD_FAMILY, "action": "SCMP_ACT_NOTIFY" }]
    })
}
