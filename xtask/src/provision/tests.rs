//! Provisioning per command: what `build` installs, and that it needs neither root nor apt-get
//! when everything is there.

use super::apt;
use super::packages::{BUILD_PACKAGES, Package, TEST_PACKAGES};

/// Runs `check` in a child process that has become user nobody; returns what it reported.
fn as_nobody(check: fn() -> bool) -> bool {
    // SAFETY: the child only drops its ids, runs `check` (which spawns dpkg-query; glibc keeps
    // malloc usable after fork) and leaves with _exit, never returning into the test harness.
    match unsafe { libc::fork() } {
        -1 => panic!("fork: {}", std::io::Error::last_os_error()),
        0 => {
            // SAFETY: plain syscalls on this process's own ids.
            let dropped = unsafe {
                libc::setgroups(0, std::ptr::null()) == 0
                    && libc::setresgid(65534, 65534, 65534) == 0
                    && libc::setresuid(65534, 65534, 65534) == 0
            };
            let ok = dropped && !super::is_root() && check();
            // SAFETY: ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        child => {
            let mut status = 0;
            // SAFETY: waits for the child forked above.
            assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
        }
    }
}

#[test]
fn build_installs_libseccomp_dev_only_and_tests_the_rest() {
    let build: Vec<&str> = BUILD_PACKAGES.iter().map(|p| p.deb).collect();
    assert_eq!(build, ["libseccomp-dev"]);
    let test: Vec<&str> = TEST_PACKAGES.iter().map(|p| p.deb).collect();
    for only_tests in ["runc", "crun", "busybox-static", "prometheus", "chromium"] {
        assert!(test.contains(&only_tests), "{only_tests} is a test package");
    }
}

#[test]
fn present_build_packages_need_neither_root_nor_apt_get() {
    super::require_root("test").expect("this test drops from root to nobody");
    // As nobody, apt-get would fail: success means it was not called.
    assert!(
        as_nobody(|| apt::ensure(BUILD_PACKAGES, "building").is_ok()),
        "with libseccomp-dev installed, a user who is not root must be able to build"
    );
}

#[test]
fn a_missing_package_without_root_says_how_to_install_it() {
    super::require_root("test").expect("this test drops from root to nobody");
    assert!(as_nobody(|| {
        let missing = [Package {
            deb: "enforcer-no-such-package",
            provides: "/nonexistent/enforcer-no-such-package",
        }];
        apt::ensure(&missing, "building").is_err_and(|e| {
            e.to_string()
                .contains("apt-get install enforcer-no-such-package` as root")
        })
    }));
}
