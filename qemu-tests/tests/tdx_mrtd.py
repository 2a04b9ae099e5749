#!/usr/bin/env python3
"""Independent MRTD recomputation from a TDVF (OVMF) image, written from the
TDVF design guide (metadata in the OVMF GUIDed table) and the TDX module
ABI (TDH.MEM.PAGE.ADD / TDH.MR.EXTEND hash records), without the Rust
implementation's code: prints the MRTD for the two page orders (interleaved
per page; per section all adds first), hex, one per line. Used by
qemu-tests/tests/measurements.rs as a differential check of the manifest."""
import hashlib, struct, sys, uuid

FOOTER = uuid.UUID("96b582de-1fb2-45f7-baea-a366c55a082d").bytes_le
TDX_META = uuid.UUID("e47a6535-984a-4798-865e-4685a7bf8ec2").bytes_le
PAGE = 4096
CHUNK = 256


def guid_table(fw):
    end = len(fw) - 0x20
    if fw[end - 16:end] != FOOTER:
        sys.exit("no OVMF GUIDed table footer")
    (total,) = struct.unpack_from("<H", fw, end - 18)
    start = end - total
    pos = end - 18  # before the footer's length
    table = {}
    while pos > start:
        guid = fw[pos - 16:pos]
        (length,) = struct.unpack_from("<H", fw, pos - 18)
        data = fw[pos - length:pos - 18]
        table[guid] = data
        pos -= length
    return table


def sections(fw):
    data = guid_table(fw).get(TDX_META)
    if data is None:
        sys.exit("no TDX metadata")
    (offset,) = struct.unpack_from("<I", data, 0)
    base = len(fw) - offset
    sig, length, version, count = struct.unpack_from("<4sIII", fw, base)
    if sig != b"TDVF":
        sys.exit("bad TDVF descriptor")
    out = []
    for i in range(count):
        out.append(struct.unpack_from("<IIQQII", fw, base + 16 + 32 * i))
    return out


def record(op, gpa):
    return op.ljust(16, b"\0") + struct.pack("<Q", gpa) + b"\0" * (128 - 24)


def mrtd(fw, interleaved):
    """Interleaved: per page, ADD then its EXTENDs. Otherwise per section:
    all ADDs, then all EXTENDs (the two orders VMMs use)."""
    h = hashlib.sha384()
    for data_off, raw_size, mem_addr, mem_size, kind, attrs in sections(fw):
        raw = fw[data_off:data_off + raw_size].ljust(mem_size, b"\0")
        extends = []
        for page in range(0, mem_size, PAGE):
            h.update(record(b"MEM.PAGE.ADD", mem_addr + page))
            if attrs & 1:
                chunks = [(mem_addr + page + c, raw[page + c:page + c + CHUNK]) for c in range(0, PAGE, CHUNK)]
                if interleaved:
                    for gpa, chunk in chunks:
                        h.update(record(b"MR.EXTEND", gpa) + chunk)
                else:
                    extends.extend(chunks)
        for gpa, chunk in extends:
            h.update(record(b"MR.EXTEND", gpa) + chunk)
    return h.hexdigest()


fw = open(sys.argv[1], "rb").read()
print(mrtd(fw, True))
print(mrtd(fw, False))
