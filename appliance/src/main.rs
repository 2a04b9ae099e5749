//! `aether-init`: the appliance's PID 1. The decisions live in the
//! `aether_appliance` library; this file performs the system calls in order
//! and reports every step on the console (`/dev/console`, the serial port).
//! It never exits: on a fatal error or `SIGTERM` it powers the VM off.

use aether_appliance::cmdline::{self, BootParams, DataStore, NetConfig};
use aether_appliance::config::{ApplianceConfig, Substitutions};
use aether_appliance::restart::{Decision, RestartPolicy};
use aether_appliance::seal::{self, HardwareKeySource, KeyOrigin, SnpGuestDevice, Tee};
use aether_appliance::{CONFIG_PATH, console_line, dhcp, input, netlink};
use rustix::mount::{MountFlags, mount};
use rustix::process::{Pid, Signal, WaitOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const SEALING_KEY_FILE: &str = "/run/aether/sealing.key";
const STOP_GRACE: Duration = Duration::from_secs(10);

fn log(msg: impl AsRef<str>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "aether-init: {}", msg.as_ref());
}

/// Syncs and powers off; PID 1 must never return.
fn power_off(reason: &str) -> ! {
    log(format!("powering off: {reason}"));
    rustix::fs::sync();
    loop {
        if let Err(e) = rustix::system::reboot(rustix::system::RebootCommand::PowerOff) {
            log(format!("reboot(POWER_OFF) failed: {e}"));
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

fn fatal(what: &str, err: impl std::fmt::Display) -> ! {
    power_off(&format!("{what}: {err}"))
}

fn mkdir_p(path: &str) {
    let _ = std::fs::create_dir_all(path);
}

fn mount_fs(
    src: &str,
    target: &str,
    fstype: &str,
    flags: MountFlags,
    data: Option<&std::ffi::CStr>,
) {
    mkdir_p(target);
    if let Err(e) = mount(src, target, fstype, flags, data) {
        // EBUSY: already mounted (e.g. devtmpfs with CONFIG_DEVTMPFS_MOUNT).
        if e != rustix::io::Errno::BUSY {
            fatal(&format!("mount {fstype} on {target}"), e);
        }
    }
}

fn mount_base() {
    let nosuid = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    mount_fs("proc", "/proc", "proc", nosuid, None);
    mount_fs("sysfs", "/sys", "sysfs", nosuid, None);
    mount_fs(
        "devtmpfs",
        "/dev",
        "devtmpfs",
        MountFlags::NOSUID | MountFlags::NOEXEC,
        Some(c"mode=0755"),
    );
    mount_fs(
        "tmpfs",
        "/tmp",
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        Some(c"mode=1777"),
    );
    mount_fs("tmpfs", "/run", "tmpfs", nosuid, Some(c"mode=0755"));
    mount_configfs(nosuid);
}

/// configfs at `/sys/kernel/config`: the worker's TEE evidence comes from
/// configfs-tsm (`/sys/kernel/config/tsm/report`). Not fatal: a kernel
/// without configfs (no `/sys/kernel/config`) boots without it.
fn mount_configfs(flags: MountFlags) {
    const TARGET: &str = "/sys/kernel/config";
    if !std::path::Path::new(TARGET).is_dir() {
        log("configfs: not in this kernel (no /sys/kernel/config): no configfs-tsm reports");
        return;
    }
    match mount("configfs", TARGET, "configfs", flags, None) {
        Ok(()) | Err(rustix::io::Errno::BUSY) => {}
        Err(e) => log(format!("configfs: cannot mount on {TARGET}: {e}")),
    }
}

fn mount_data(store: &DataStore, dir: &str) {
    let flags = MountFlags::NOSUID | MountFlags::NODEV;
    match store {
        DataStore::Tmpfs => {
            mount_fs("tmpfs", dir, "tmpfs", flags, Some(c"mode=0700"));
            log(format!("data: tmpfs on {dir} (state is lost at power-off)"));
        }
        DataStore::Disk { device, fstype } => {
            // Devices appear asynchronously after the driver probes.
            let deadline = Instant::now() + Duration::from_secs(10);
            while !std::path::Path::new(device).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            mount_fs(device, dir, fstype, flags, None);
            log(format!("data: {device} ({fstype}) on {dir}"));
        }
    }
}

/// Blocks until the kernel's CRNG is initialised, saying so if it has to wait.
fn wait_for_entropy() {
    use rustix::rand::{GetRandomFlags, getrandom};
    let mut buf = [0u8; 16];
    match getrandom(&mut buf, GetRandomFlags::NONBLOCK) {
        Ok(_) => log("entropy: random pool ready"),
        Err(rustix::io::Errno::AGAIN) => {
            log("entropy: waiting for the random pool (add virtio-rng to the VM to speed this up)");
            let start = Instant::now();
            loop {
                match getrandom(&mut buf, GetRandomFlags::empty()) {
                    Ok(_) => break,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => fatal("getrandom", e),
                }
            }
            log(format!("entropy: ready after {:?}", start.elapsed()));
        }
        Err(e) => fatal("getrandom", e),
    }
}

fn random32() -> [u8; 32] {
    let mut key = [0u8; 32];
    let mut filled = 0;
    while filled < key.len() {
        match rustix::rand::getrandom(&mut key[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => fatal("getrandom", e),
        }
    }
    key
}

// ---- network -------------------------------------------------------------

struct Netlink {
    fd: rustix::fd::OwnedFd,
    seq: u32,
}

impl Netlink {
    fn open() -> rustix::io::Result<Self> {
        use rustix::net::{AddressFamily, SocketType, netlink, socket};
        // Protocol `None` is NETLINK_ROUTE.
        let fd = socket(AddressFamily::NETLINK, SocketType::RAW, None)?;
        rustix::net::bind(&fd, &netlink::SocketAddrNetlink::new(0, 0))?;
        rustix::net::sockopt::set_socket_timeout(
            &fd,
            rustix::net::sockopt::Timeout::Recv,
            Some(Duration::from_secs(2)),
        )?;
        Ok(Netlink { fd, seq: 0 })
    }

    fn request(&mut self, build: impl FnOnce(u32) -> Vec<u8>) -> Result<(), String> {
        self.seq += 1;
        let msg = build(self.seq);
        let kernel = rustix::net::netlink::SocketAddrNetlink::new(0, 0);
        rustix::net::sendto(&self.fd, &msg, rustix::net::SendFlags::empty(), &kernel)
            .map_err(|e| format!("send: {e}"))?;
        let mut buf = vec![0u8; 8192];
        loop {
            let (n, _) = rustix::net::recv(&self.fd, &mut buf, rustix::net::RecvFlags::empty())
                .map_err(|e| format!("recv: {e}"))?;
            if netlink::parse_ack(&buf[..n], self.seq).map_err(|e| e.to_string())? {
                return Ok(());
            }
        }
    }
}

fn ifindex(name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn mac_address(name: &str) -> Option<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/address")).ok()?;
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16))
        .collect::<Result<_, _>>()
        .ok()?;
    bytes.try_into().ok()
}

fn configure_static(
    nl: &mut Netlink,
    index: u32,
    addr: Ipv4Addr,
    prefix: u8,
    gateway: Option<Ipv4Addr>,
) -> Result<(), String> {
    nl.request(|s| netlink::add_address(index, addr, prefix, s))?;
    if let Some(gw) = gateway {
        nl.request(|s| netlink::add_route(index, Ipv4Addr::UNSPECIFIED, 0, Some(gw), s))?;
    }
    Ok(())
}

fn run_dhcp(nl: &mut Netlink, index: u32) -> Result<dhcp::Lease, String> {
    use std::net::UdpSocket;
    let mac = mac_address("eth0").ok_or("cannot read eth0's MAC address")?;
    // Without an address the kernel needs a route to send the limited broadcast.
    nl.request(|s| netlink::add_route(index, Ipv4Addr::BROADCAST, 32, None, s))?;
    let sock = UdpSocket::bind("0.0.0.0:68").map_err(|e| format!("bind :68: {e}"))?;
    sock.set_broadcast(true).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let xid = u32::from_le_bytes(random32()[..4].try_into().unwrap_or([0; 4]));
    let exchange = |msg: Vec<u8>, want: dhcp::MessageType| -> Result<dhcp::Lease, String> {
        for _attempt in 0..5 {
            sock.send_to(&msg, "255.255.255.255:67")
                .map_err(|e| format!("send: {e}"))?;
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut buf = [0u8; 1500];
            while Instant::now() < deadline {
                let Ok((n, _)) = sock.recv_from(&mut buf) else {
                    break;
                };
                match dhcp::parse_reply(&buf[..n], xid, mac) {
                    Ok(l) if l.kind == want => return Ok(l),
                    Ok(l) if l.kind == dhcp::MessageType::Nak => {
                        return Err("server answered NAK".into());
                    }
                    _ => {}
                }
            }
        }
        Err(format!("no {want:?} from any DHCP server"))
    };
    let offer = exchange(dhcp::discover(xid, mac), dhcp::MessageType::Offer)?;
    let ack = exchange(
        dhcp::request(xid, mac, offer.addr, offer.server),
        dhcp::MessageType::Ack,
    )?;
    Ok(ack)
}

fn setup_network(net: &NetConfig) {
    let mut nl = match Netlink::open() {
        Ok(nl) => nl,
        Err(e) => fatal("netlink socket", e),
    };
    if let Err(e) = nl.request(|s| netlink::link_up(1, s)) {
        fatal("bring up lo", e);
    }
    if *net == NetConfig::Off {
        log("net: off (loopback only)");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let index = loop {
        if let Some(i) = ifindex("eth0") {
            break i;
        }
        if Instant::now() > deadline {
            fatal(
                "net",
                "no eth0 after 10 s (is a virtio-net device attached?)",
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Err(e) = nl.request(|s| netlink::link_up(index, s)) {
        fatal("bring up eth0", e);
    }
    match *net {
        NetConfig::Static {
            addr,
            prefix,
            gateway,
        } => {
            if let Err(e) = configure_static(&mut nl, index, addr, prefix, gateway) {
                fatal("net: static configuration", e);
            }
            log(format!(
                "net: eth0 {addr}/{prefix}{}",
                gateway.map(|g| format!(" via {g}")).unwrap_or_default()
            ));
        }
        NetConfig::Dhcp => {
            let lease = run_dhcp(&mut nl, index).unwrap_or_else(|e| fatal("net: dhcp", e));
            if let Err(e) = configure_static(&mut nl, index, lease.addr, lease.prefix, lease.router)
            {
                fatal("net: applying the DHCP lease", e);
            }
            log(format!(
                "net: eth0 {}/{} via {} (dhcp from {}, lease {} s, not renewed)",
                lease.addr,
                lease.prefix,
                lease
                    .router
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "-".into()),
                lease
                    .server
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "-".into()),
                lease
                    .lease_secs
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "?".into()),
            ));
            if !lease.dns.is_empty() {
                let conf: String = lease
                    .dns
                    .iter()
                    .map(|d| format!("nameserver {d}\n"))
                    .collect();
                let _ = std::fs::write("/run/resolv.conf", conf);
            }
        }
        NetConfig::Off => {}
    }
}

// ---- TPM and sealing -----------------------------------------------------

/// Prints the boot-time PCRs 0-15 a TPM holds (SHA-256 and SHA-384 banks,
/// those that were extended), so that a vTPM boot's measurements can be
/// compared with the manifest's predictions from the console alone.
fn report_tpm() {
    for bank in ["sha256", "sha384"] {
        for pcr in 0..16 {
            let Ok(v) = std::fs::read_to_string(format!("/sys/class/tpm/tpm0/pcr-{bank}/{pcr}"))
            else {
                continue;
            };
            let v = v.trim().to_ascii_lowercase();
            if v.bytes().any(|b| b != b'0') {
                log(format!("tpm: pcr{pcr} {bank}={v}"));
            }
        }
    }
}

fn setup_sealing_key(purpose: &str) {
    let tee = seal::detect(
        std::path::Path::new("/dev/sev-guest").exists(),
        std::path::Path::new("/dev/tdx_guest").exists(),
    );
    let mut snp = SnpGuestDevice;
    let source: Option<&mut dyn HardwareKeySource> = match tee {
        Tee::Snp => Some(&mut snp),
        Tee::Tdx | Tee::None => None,
    };
    let key = seal::sealing_key(tee, source, purpose, random32());
    match &key.origin {
        KeyOrigin::Hardware(name) => log(format!("sealing: key derived from {name}")),
        KeyOrigin::Ephemeral(reason) => log(format!(
            "sealing: EPHEMERAL key for this boot only ({reason}); sealed state will not survive a reboot"
        )),
    }
    mkdir_p("/run/aether");
    let write = std::fs::write(SEALING_KEY_FILE, hex::encode(key.key)).and_then(|()| {
        std::fs::set_permissions(SEALING_KEY_FILE, std::fs::Permissions::from_mode(0o600))
    });
    if let Err(e) = write {
        fatal("writing the sealing key", e);
    }
}

// ---- payload supervision -------------------------------------------------

/// Copies the payload's output to the console, a line at a time with the
/// payload's prefix; the thread ends at end of file.
fn stream(name: String, src: impl Read + Send + 'static) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(src);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let _ = std::io::stderr()
                        .lock()
                        .write_all(console_line(&name, &line).as_bytes());
                }
            }
        }
    })
}

/// How long the supervisor waits, after the payload exited, for the rest of
/// its output to reach the console before it reports the exit; a process the
/// payload left behind may keep the pipes open, so the wait is bounded.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// A started payload: its process and the threads copying its output.
struct Running {
    pid: Pid,
    started: Instant,
    streams: Vec<JoinHandle<()>>,
}

impl Running {
    /// Waits (at most [`DRAIN_GRACE`]) until the output threads have copied
    /// everything the payload wrote, so that the console shows its last
    /// lines before the supervisor's report of its exit.
    fn drain(self) {
        let deadline = Instant::now() + DRAIN_GRACE;
        while Instant::now() < deadline && !self.streams.iter().all(JoinHandle::is_finished) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn spawn(cfg: &ApplianceConfig, subst: &Substitutions) -> std::io::Result<Running> {
    let mut child = Command::new(&cfg.payload.path)
        .args(cfg.args(subst))
        .env_clear()
        .envs(cfg.env(subst))
        .current_dir(&subst.data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut streams = Vec::new();
    if let Some(out) = child.stdout.take() {
        streams.push(stream(cfg.payload.name.clone(), out));
    }
    if let Some(err) = child.stderr.take() {
        streams.push(stream(cfg.payload.name.clone(), err));
    }
    Ok(Running {
        pid: Pid::from_child(&child),
        started: Instant::now(),
        streams,
    })
}

/// Reaps every exited child; returns the exit status of `watched` if it was among them.
fn reap(watched: Option<Pid>) -> Option<String> {
    let mut result = None;
    loop {
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some((pid, status))) => {
                if Some(pid) == watched {
                    result = Some(match (status.exit_status(), status.terminating_signal()) {
                        (Some(code), _) => format!("exit status {code}"),
                        (_, Some(sig)) => format!("signal {sig}"),
                        _ => "unknown status".to_string(),
                    });
                }
            }
            Ok(None) | Err(_) => return result,
        }
    }
}

fn stop(pid: Pid) {
    log(format!(
        "stopping payload (pid {}) with SIGTERM",
        pid.as_raw_nonzero()
    ));
    let _ = rustix::process::kill_process(pid, Signal::TERM);
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if reap(Some(pid)).is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    log("payload ignored SIGTERM; SIGKILL");
    let _ = rustix::process::kill_process(pid, Signal::KILL);
    std::thread::sleep(Duration::from_millis(200));
    reap(Some(pid));
}

/// Why the appliance should shut down, set asynchronously.
struct ShutdownRequests {
    /// `SIGTERM` arrived.
    sigterm: Arc<AtomicBool>,
    /// The ACPI power button was pressed.
    power_button: Arc<AtomicBool>,
}

impl ShutdownRequests {
    fn reason(&self) -> Option<&'static str> {
        if self.sigterm.load(Ordering::SeqCst) {
            Some("SIGTERM received")
        } else if self.power_button.load(Ordering::SeqCst) {
            Some("power button pressed")
        } else {
            None
        }
    }
}

/// Watches every evdev device for a power-button press (see [`input`]).
fn watch_power_button(pressed: &Arc<AtomicBool>) {
    let Ok(dir) = std::fs::read_dir("/dev/input") else {
        log(
            "power button: no /dev/input (kernel without evdev); stop the VM with SIGTERM or a hard stop",
        );
        return;
    };
    let mut watched = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !input::is_event_device(&name) {
            continue;
        }
        let Ok(mut dev) = std::fs::File::open(entry.path()) else {
            continue;
        };
        let pressed = Arc::clone(pressed);
        std::thread::spawn(move || {
            let mut raw = [0u8; input::EVENT_SIZE];
            while dev.read_exact(&mut raw).is_ok() {
                if input::InputEvent::decode(&raw).is_power_press() {
                    log("power button pressed: shutting down");
                    pressed.store(true, Ordering::SeqCst);
                }
            }
        });
        watched.push(format!("/dev/input/{name}"));
    }
    watched.sort();
    log(format!("power button: watching {}", watched.join(" ")));
}

fn supervise(cfg: &ApplianceConfig, subst: &Substitutions, shutdown: &ShutdownRequests) -> ! {
    let mut policy = RestartPolicy::new(cfg.restart);
    let mut running: Option<Running> = None;
    let mut start_at = Some(Instant::now());
    loop {
        let exited = reap(running.as_ref().map(|r| r.pid));
        if let Some(reason) = shutdown.reason() {
            if let Some(r) = running.take() {
                stop(r.pid);
                r.drain();
            }
            power_off(reason);
        }
        if let Some(status) = exited
            && let Some(r) = running.take()
        {
            let uptime = r.started.elapsed();
            r.drain();
            log(format!(
                "payload {} ended after {uptime:.1?}: {status}",
                cfg.payload.name
            ));
            match policy.on_exit(uptime) {
                Decision::Restart { after, attempt } => {
                    log(format!(
                        "restart {attempt}/{} in {after:?}",
                        cfg.restart.max_restarts
                    ));
                    start_at = Some(Instant::now() + after);
                }
                Decision::PowerOff => power_off(&format!(
                    "payload failed {} times in a row",
                    policy.failures() + 1
                )),
            }
        }
        if let Some(at) = start_at
            && Instant::now() >= at
        {
            start_at = None;
            match spawn(cfg, subst) {
                Ok(r) => {
                    log(format!(
                        "started {} (pid {}): {} {}",
                        cfg.payload.name,
                        r.pid.as_raw_nonzero(),
                        cfg.payload.path,
                        cfg.args(subst).join(" ")
                    ));
                    running = Some(r);
                }
                Err(e) => {
                    log(format!("cannot start {}: {e}", cfg.payload.path));
                    match policy.on_exit(Duration::ZERO) {
                        Decision::Restart { after, .. } => start_at = Some(Instant::now() + after),
                        Decision::PowerOff => power_off("payload cannot be started"),
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn main() {
    if rustix::process::getpid() != Pid::INIT {
        eprintln!("aether-init is the appliance's PID 1 and does nothing elsewhere");
        std::process::exit(2);
    }
    log(concat!(
        "aether-init ",
        env!("CARGO_PKG_VERSION"),
        " starting"
    ));
    let shutdown = ShutdownRequests {
        sigterm: Arc::new(AtomicBool::new(false)),
        power_button: Arc::new(AtomicBool::new(false)),
    };
    if let Err(e) =
        signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&shutdown.sigterm))
    {
        log(format!("cannot handle SIGTERM: {e}"));
    }
    mount_base();
    wait_for_entropy();
    let cmdline =
        std::fs::read_to_string("/proc/cmdline").unwrap_or_else(|e| fatal("/proc/cmdline", e));
    let params: BootParams = cmdline::parse(&cmdline).unwrap_or_else(|e| fatal("cmdline", e));
    for key in &params.unknown_keys {
        log(format!("warning: unknown command-line key {key} ignored"));
    }
    log(format!("role: {}, rpc: {}", params.role.name(), params.rpc));
    let cfg_text = std::fs::read_to_string(CONFIG_PATH).unwrap_or_else(|e| fatal(CONFIG_PATH, e));
    let cfg = ApplianceConfig::parse(&cfg_text).unwrap_or_else(|e| fatal(CONFIG_PATH, e));
    let _ = rustix::system::sethostname(cfg.system.hostname.as_bytes());
    mount_data(&params.data, &cfg.system.data_dir);
    setup_network(&params.net);
    report_tpm();
    setup_sealing_key(params.role.name());
    watch_power_button(&shutdown.power_button);
    let subst = Substitutions {
        rpc: params.rpc.to_string(),
        data_dir: cfg.system.data_dir.clone(),
        role: params.role.name().to_string(),
        sealing_key_file: SEALING_KEY_FILE.to_string(),
    };
    supervise(&cfg, &subst, &shutdown);
}
