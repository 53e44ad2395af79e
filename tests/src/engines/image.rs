//! The busybox image every engine test imports: a rootfs of the host's static busybox (no
//! registry), as a plain tar (`docker import`, `podman import`) and as an OCI image layout
//! archive (`ctr image import`).

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

const BUSYBOX: &str = "/bin/busybox";
const APPLETS: [&str; 16] = [
    "sh", "chmod", "stat", "sleep", "mv", "cat", "rm", "touch", "mkdir", "ls", "echo", "true",
    "id", "test", "[", "printf",
];

/// What the container's own process runs when a test drives it: it carries out
/// /ctl/cmd.sh whenever the test drops one into the bind-mounted /ctl, so the calls come
/// from the container's first process. Output and status go to /ctl/cmd.out, then the
/// script is renamed /ctl/cmd.done. Nothing here calls chmod by itself.
pub const DRIVER: &str = r#"while :; do
  if [ -f /ctl/cmd.sh ]; then
    sh /ctl/cmd.sh > /ctl/cmd.out 2>&1
    echo "exit=$?" >> /ctl/cmd.out
    mv /ctl/cmd.sh /ctl/cmd.done
  fi
  sleep 0.05
done
"#;

/// Where the driver script is in the image.
pub const DRIVER_PATH: &str = "/driver.sh";

pub struct BusyboxImage {
    _dir: tempfile::TempDir,
    /// The rootfs as a tar, for `docker import` and `podman import`.
    pub rootfs_tar: PathBuf,
    /// An OCI image layout archive, for `ctr image import`.
    pub oci_tar: PathBuf,
}

impl BusyboxImage {
    /// Builds both archives; `name` is the reference the OCI archive carries.
    pub fn build(name: &str) -> Self {
        let dir = tempfile::tempdir().expect("image dir");
        let rootfs = dir.path().join("rootfs");
        for d in [
            "bin", "etc", "proc", "dev", "sys", "tmp", "ctl", "allowed", "other",
        ] {
            std::fs::create_dir_all(rootfs.join(d)).expect("mkdir in rootfs");
        }
        install_busybox(&rootfs, &APPLETS);
        std::fs::write(rootfs.join(DRIVER_PATH.trim_start_matches('/')), DRIVER)
            .expect("driver script");
        let rootfs_tar = dir.path().join("rootfs.tar");
        tar(&rootfs, &rootfs_tar);
        let oci_tar = dir.path().join("oci.tar");
        oci_archive(&rootfs_tar, &dir.path().join("oci"), &oci_tar, name);
        Self {
            _dir: dir,
            rootfs_tar,
            oci_tar,
        }
    }
}

/// The host's static busybox as `rootfs`/bin/busybox, with a link per applet.
pub fn install_busybox(rootfs: &Path, applets: &[&str]) {
    std::fs::create_dir_all(rootfs.join("bin")).expect("mkdir bin");
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).unwrap_or_else(|e| {
        panic!("{BUSYBOX}: {e} (the busybox-static package; run `cargo xtask test`)")
    });
    for applet in applets {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))
            .expect("applet link");
    }
}

fn tar(dir: &Path, out: &Path) {
    let status = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(["--numeric-owner", "--owner=0", "--group=0", "-cf"])
        .arg(out)
        .arg(".")
        .status()
        .expect("spawn tar");
    assert!(status.success(), "tar of {} failed", dir.display());
}

/// `sha256:<hex>` of a file.
fn digest(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("spawn sha256sum");
    assert!(out.status.success(), "sha256sum {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    format!(
        "sha256:{}",
        text.split_whitespace().next().expect("a digest")
    )
}

/// Puts `content` in the layout's blobs; returns its descriptor.
fn blob(layout: &Path, media_type: &str, content: &Path) -> serde_json::Value {
    let digest = digest(content);
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("blobs dir");
    let size = std::fs::metadata(content).expect("stat blob").len();
    std::fs::copy(content, blobs.join(digest.trim_start_matches("sha256:"))).expect("blob");
    json!({ "mediaType": media_type, "digest": digest, "size": size })
}

fn json_blob(layout: &Path, media_type: &str, value: &serde_json::Value) -> serde_json::Value {
    let tmp = layout.join("tmp.json");
    std::fs::write(&tmp, serde_json::to_vec(value).unwrap()).expect("write json blob");
    let d = blob(layout, media_type, &tmp);
    std::fs::remove_file(&tmp).expect("remove tmp blob");
    d
}

/// An OCI image layout (one uncompressed layer) of `layer`, archived as `out`.
fn oci_archive(layer: &Path, layout: &Path, out: &Path, name: &str) {
    std::fs::create_dir_all(layout).expect("layout dir");
    let layer_desc = blob(layout, "application/vnd.oci.image.layer.v1.tar", layer);
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["/bin/sh"] },
        "rootfs": { "type": "layers", "diff_ids": [layer_desc["digest"]] }
    });
    let config_desc = json_blob(layout, "application/vnd.oci.image.config.v1+json", &config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer_desc]
    });
    let mut manifest_desc = json_blob(
        layout,
        "application/vnd.oci.image.manifest.v1+json",
        &manifest,
    );
    manifest_desc["annotations"] = json!({
        "io.containerd.image.name": name,
        "org.opencontainers.image.ref.name": name.rsplit(':').next().unwrap_or("latest"),
    });
    manifest_desc["platform"] = json!({ "architecture": "amd64", "os": "linux" });
    let index = json!({ "schemaVersion": 2, "manifests": [manifest_desc] });
    std::fs::write(layout.join("index.json"), index.to_string()).expect("index.json");
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    tar(layout, out);
}
