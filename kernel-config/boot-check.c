/*
 * PID 1 of the kernel boot test (kernel-config/boot-test): checks, from inside
 * the guest, the properties the fragments promise, prints one line per check
 * ("CHECK <name> ok" or "CHECK <name> FAIL <why>"), then powers off.
 * C rather than Rust so that the test needs only gcc and glibc's static libc,
 * not a cargo build; it is test scaffolding, not part of any image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int ok, const char *why) {
  if (ok) {
    printf("CHECK %s ok\n", name);
  } else {
    printf("CHECK %s FAIL %s (errno %d %s)\n", name, why, errno, strerror(errno));
    failures++;
  }
  fflush(stdout);
}

/* Reads up to size-1 bytes of path into buf; returns the length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n >= 0) buf[n] = 0;
  return n;
}

int main(void) {
  char buf[4096];
  struct stat st;

  /* The kernel opened /dev/console from the initramfs; DEVTMPFS_MOUNT does not
     apply to an initramfs root, so init mounts devtmpfs itself. */
  check("console", stat("/dev/console", &st) == 0 && S_ISCHR(st.st_mode), "/dev/console missing");
  check("devtmpfs", mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) == 0 &&
                        stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode),
        "mount devtmpfs");
  check("proc", mount("proc", "/proc", "proc", 0, NULL) == 0, "mount proc");
  check("sysfs", mount("sysfs", "/sys", "sysfs", 0, NULL) == 0, "mount sysfs");
  check("tmpfs", mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m") == 0, "mount tmpfs");
  check("securityfs", mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL) == 0,
        "mount securityfs");
  check("configfs", mount("configfs", "/sys/kernel/config", "configfs", 0, NULL) == 0,
        "mount configfs");

  if (slurp("/proc/version", buf, sizeof buf) > 0) printf("VERSION %s", buf);
  check("lockdown-confidentiality",
        slurp("/sys/kernel/security/lockdown", buf, sizeof buf) > 0 &&
            strstr(buf, "[confidentiality]") != NULL,
        "lockdown is not [confidentiality]");
  check("no-modules", access("/proc/modules", F_OK) != 0, "/proc/modules exists");
  check("no-debugfs", access("/sys/kernel/debug", F_OK) != 0 ||
                          mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL) != 0,
        "debugfs mounts");
  check("configfs-tsm", access("/sys/kernel/config/tsm/report", F_OK) == 0,
        "/sys/kernel/config/tsm/report missing");
  check("zstd-initramfs", access("/boot-check-marker", F_OK) == 0, "initramfs marker missing");

  unsigned char rnd[32];
  check("getrandom", getrandom(rnd, sizeof rnd, 0) == (ssize_t)sizeof rnd, "getrandom");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int ev = eventfd(0, EFD_CLOEXEC);
  int tf = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  check("epoll-eventfd-timerfd", ep >= 0 && ev >= 0 && tf >= 0, "epoll/eventfd/timerfd");
  int futex_word = 0;
  check("futex", syscall(SYS_futex, &futex_word, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0) >= 0,
        "futex");
  int s4 = socket(AF_INET, SOCK_DGRAM, 0), s6 = socket(AF_INET6, SOCK_DGRAM, 0),
      su = socket(AF_UNIX, SOCK_STREAM, 0), sp = socket(AF_PACKET, SOCK_DGRAM, 0),
      sv = socket(AF_VSOCK, SOCK_STREAM, 0);
  check("sockets-inet-inet6-unix-packet-vsock", s4 >= 0 && s6 >= 0 && su >= 0 && sp >= 0 && sv >= 0,
        "socket families");
  check("virtio-net", access("/sys/class/net/eth0", F_OK) == 0, "no eth0");
  check("virtio-blk", access("/sys/block/vda", F_OK) == 0, "no vda");
  check("hwrng", slurp("/sys/class/misc/hw_random/rng_available", buf, sizeof buf) > 0 &&
                     strstr(buf, "virtio_rng") != NULL,
        "virtio_rng not available");
  if (access("/sys/class/tpm/tpm0", F_OK) == 0) {
    ssize_t n = slurp("/sys/class/tpm/tpm0/pcr-sha256/11", buf, sizeof buf);
    check("tpm-pcr11", n > 0, "read pcr-sha256/11");
    if (n > 0) printf("PCR11 %s", buf);
  } else {
    printf("CHECK tpm skipped (no TPM device attached)\n");
  }
  printf("BOOT-CHECK DONE failures=%d\n", failures);
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
