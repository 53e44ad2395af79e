//! Loading and attaching the embedded eBPF object, and the watch map.

use aya::maps::{HashMap, MapData};
use aya::programs::RawTracePoint;
use aya::{Ebpf, EbpfError, include_bytes_aligned};

/// The object `cargo xtask build` compiled; empty when the binary was built without it.
static EBPF_OBJECT: &[u8] = include_bytes_aligned!(concat!(env!("OUT_DIR"), "/enforcer.bpf.o"));

/// The tracepoint programs of the object, each attached to the raw tracepoint of its name.
const PROGRAMS: [&str; 2] = ["sys_enter", "sys_exit"];

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error(
        "this enforcer binary was built without its eBPF object (build it with `cargo xtask build`)"
    )]
    NoObject,
    #[error("loading the eBPF object: {0}")]
    Load(#[from] EbpfError),
    #[error("eBPF program {name}: {source}")]
    Program {
        name: &'static str,
        #[source]
        source: aya::programs::ProgramError,
    },
    #[error("eBPF map {name}: {source}")]
    Map {
        name: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error("eBPF map {0} is missing from the object")]
    MissingMap(&'static str),
}

/// A loaded and attached observer. Dropping it detaches the programs.
pub struct Observer {
    pub(super) ebpf: Ebpf,
}

impl Observer {
    /// Loads the programs and attaches them to `raw_syscalls:sys_enter` / `sys_exit` as raw
    /// tracepoints, which need neither tracefs nor BTF.
    pub fn load() -> Result<Self, ObserveError> {
        if EBPF_OBJECT.is_empty() {
            return Err(ObserveError::NoObject);
        }
        let mut ebpf = Ebpf::load(EBPF_OBJECT)?;
        for name in PROGRAMS {
            let program: &mut RawTracePoint = ebpf
                .program_mut(name)
                .ok_or(ObserveError::Program {
                    name,
                    source: aya::programs::ProgramError::UnexpectedProgramType,
                })?
                .try_into()
                .map_err(|source| ObserveError::Program { name, source })?;
            program
                .load()
                .map_err(|source| ObserveError::Program { name, source })?;
            program
                .attach(name)
                .map_err(|source| ObserveError::Program { name, source })?;
        }
        Ok(Self { ebpf })
    }

    /// Starts counting the calls of the processes in cgroup `cgroup_id`.
    pub fn watch(&mut self, cgroup_id: u64) -> Result<(), ObserveError> {
        self.watched()?
            .insert(cgroup_id, 1, 0)
            .map_err(|source| ObserveError::Map {
                name: "WATCHED",
                source,
            })
    }

    /// Stops counting for `cgroup_id`; its counters stay readable until `forget`.
    pub fn unwatch(&mut self, cgroup_id: u64) -> Result<(), ObserveError> {
        match self.watched()?.remove(&cgroup_id) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(source) => Err(ObserveError::Map {
                name: "WATCHED",
                source,
            }),
        }
    }

    fn watched(&mut self) -> Result<HashMap<&mut MapData, u64, u8>, ObserveError> {
        let map = self
            .ebpf
            .map_mut("WATCHED")
            .ok_or(ObserveError::MissingMap("WATCHED"))?;
        HashMap::try_from(map).map_err(|source| ObserveError::Map {
            name: "WATCHED",
            source,
        })
    }
}
