//! `enforcer agent` as the seccomp agent of real engines: Podman (runc) and containerd
//! (`ctr run --seccomp-profile`, runc), each started by the test on private roots. Docker
//! 20.10 is not here: it drops the profile's listenerPath (runc then fails with
//! "listenerPath is not set"); newer Docker passes it.

use enforcer_tests::engines::{
    Containerd, Ctl, Podman, StartWithProfile, Started, agent_decides_chmod,
};
use std::path::Path;

struct PodmanRunc(Podman);

impl StartWithProfile for PodmanRunc {
    fn start_driven(&self, name: &str, profile: &Path) -> Started {
        let podman = &self.0;
        let ctl = Ctl::new(podman.dir(), name);
        let mut args: Vec<String> = vec![
            "run".into(),
            "-d".into(),
            "--name".into(),
            name.into(),
            "--network".into(),
            "none".into(),
            "--security-opt".into(),
            format!("seccomp={}", profile.display()),
            "-v".into(),
            format!("{}:/ctl", ctl.dir.display()),
        ];
        args.extend(Podman::ulimits());
        args.extend([
            enforcer_tests::engines::podman::IMAGE.into(),
            "sh".into(),
            enforcer_tests::engines::DRIVER_PATH.into(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let id = podman.ok(&args);
        let shown_name = podman.ok(&[
            "ps",
            "--no-trunc",
            "--filter",
            &format!("id={id}"),
            "--format",
            "{{.Names}}",
        ]);
        assert_eq!(shown_name, name, "podman ps");
        Started {
            id,
            shown_name,
            ctl,
        }
    }

    fn scratch(&self) -> &Path {
        self.0.dir()
    }
}

struct Ctr(Containerd);

impl StartWithProfile for Ctr {
    fn start_driven(&self, name: &str, profile: &Path) -> Started {
        let c = &self.0;
        let ctl = Ctl::new(c.dir(), name);
        c.ok(&[
            "run",
            "-d",
            "--seccomp",
            "--seccomp-profile",
            profile.to_str().unwrap(),
            "--mount",
            &format!(
                "type=bind,src={},dst=/ctl,options=rbind:rw",
                ctl.dir.display()
            ),
            enforcer_tests::engines::containerd::IMAGE,
            name,
            "sh",
            enforcer_tests::engines::DRIVER_PATH,
        ]);
        // containerd has no names but ids: `ctr tasks ls` shows that.
        let shown = c.ok(&["tasks", "ls", "-q"]);
        assert!(shown.lines().any(|l| l == name), "ctr tasks ls: {shown}");
        Started {
            id: name.to_owned(),
            shown_name: name.to_owned(),
            ctl,
        }
    }

    fn scratch(&self) -> &Path {
        self.0.dir()
    }
}

#[test]
fn podman_with_runc_hands_chmod_to_the_agent() {
    agent_decides_chmod(&PodmanRunc(Podman::start("runc")), "podman");
}

#[test]
fn containerd_ctr_hands_chmod_to_the_agent() {
    agent_decides_chmod(&Ctr(Containerd::start()), "ctr");
}
