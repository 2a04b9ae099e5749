"""Evaluate a JSON batch of launch-measurement cases with sev-snp-measure.

Usage: python reference_driver.py CASES.json  -> prints a JSON list of results.

Each case: {"mode", "ovmf", "kernel", "initrd", "append", "vcpus", "vcpu_sig",
"guest_features", "vmm", "ovmf_hash", "svsm", "vars_size"} (paths or null).
Each result: {"digest": hex} or {"error_type": name, "message": text}.
Used by differential.rs so that one Python process evaluates the whole batch.
"""
import json
import sys

from sevsnpmeasure import guest
from sevsnpmeasure.sev_mode import SevMode
from sevsnpmeasure.vmm_types import VMMType

MODES = {"sev": SevMode.SEV, "seves": SevMode.SEV_ES, "snp": SevMode.SEV_SNP,
         "snp:svsm": SevMode.SEV_SNP_SVSM}


def evaluate(case):
    if case["mode"] == "snp:ovmf-hash":
        return guest.calc_snp_ovmf_hash(case["ovmf"])
    return guest.calc_launch_digest(
        MODES[case["mode"]], case["vcpus"], case["vcpu_sig"], case["ovmf"],
        case["kernel"], case["initrd"], case["append"], case["guest_features"],
        case["ovmf_hash"] or "", VMMType[case["vmm"]], False,
        case["svsm"] or "", case["vars_size"])


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    results = []
    for case in cases:
        try:
            results.append({"digest": evaluate(case).hex()})
        except Exception as e:  # every failure is a result to compare
            results.append({"error_type": type(e).__name__, "message": str(e)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
