//! Embeds the eBPF object that `cargo xtask build` produced (path in ENFORCER_EBPF_OBJ).
//! Without it the binary still builds and enforces; observation then reports itself degraded.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=ENFORCER_EBPF_OBJ");
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("enforcer.bpf.o");
    match env::var_os("ENFORCER_EBPF_OBJ") {
        Some(src) => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&src).display());
            fs::copy(&src, &out).unwrap_or_else(|e| {
                panic!("copy eBPF object {}: {e}", PathBuf::from(&src).display())
            });
        }
        None => fs::write(&out, b"").expect("write empty eBPF placeholder"),
    }
}
