#!/usr/bin/env python3
"""Checks the fleet report of setup/ansible/fleet-audit.yml against what
ebpf_diag says of each host on its own (tests/ansible/ansible_test.sh).

    check_fleet_report.py REPORT_DIR EXPECTATIONS EBPF_DIAG

EXPECTATIONS has one line per inventory host, tab-separated:
    host  status  root  error
status is ready, not_ready or unknown (from `ebpf_diag --quiet` for hosts
with a report); root is the host's fixture root, "/" for the live host, "-"
for an unknown host; error is a text the unknown host's error must contain.
Prints each problem on one line and exits 1 when there is one.
"""
import json
import re
import subprocess
import sys

LABELS = {"ready": "ready", "not_ready": "NOT READY", "unknown": "unknown"}
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def diag_report(ebpf_diag, root):
    argv = [ebpf_diag, "--json"] + ([] if root == "/" else ["--root", root])
    proc = subprocess.run(argv, stdout=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 1):
        raise RuntimeError("%s exited %d" % (" ".join(argv), proc.returncode))
    return json.loads(proc.stdout)


def expected_fix(report):
    """The report's fix column for a host that is not ready: the syscount verdict's."""
    if report["ready"]:
        return None
    verdict = next(v for v in report["verdicts"] if v["id"] == "syscount")
    if verdict["fix_steps"]:
        return "syscount: " + " && ".join(verdict["fix_steps"])
    return "syscount: no safe fix: " + verdict["no_safe_fix"]


def check_reported_host(entry, report, problems):
    host = entry["host"]
    failing = [c["id"] for c in report["checks"] if c["status"] in ("fail", "error")]
    not_ready = [v["id"] for v in report["verdicts"] if not v["ready"]]
    wanted = {
        "ready": report["ready"],
        "kernel_release": report["kernel_release"],
        "failing_checks": failing,
        "fix": expected_fix(report),
        "error": None,
    }
    for field, value in wanted.items():
        if entry.get(field) != value:
            problems.append("%s: %s is %r, ebpf_diag says %r" % (host, field, entry.get(field), value))
    got = [v["id"] for v in entry["not_ready_verdicts"]]
    if got != not_ready:
        problems.append("%s: not-ready verdicts %r, ebpf_diag says %r" % (host, got, not_ready))
    for v in entry["not_ready_verdicts"]:
        if not v["fix_steps"] and not v["no_safe_fix"]:
            problems.append("%s: verdict %s has neither fix steps nor a no-safe-fix reason" % (host, v["id"]))


def check_table(text, hosts, expected, problems):
    if CONTROL.search(text):
        problems.append("fleet-report.txt holds a control character")
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("HOST ")), None)
    if header is None:
        problems.append("fleet-report.txt has no table header")
        return
    rows = lines[header + 1:header + 1 + len(expected)]
    for (host, status, _, _), line in zip(expected, rows):
        cells = re.split(r"\s{2,}", line)
        if len(cells) < 5 or cells[0] != host or cells[1] != LABELS[status]:
            problems.append("fleet-report.txt row for %s is %r" % (host, line))
            continue
        entry = hosts[host]
        if status == "not_ready" and entry["fix"] and entry["fix"] not in line:
            problems.append("fleet-report.txt row for %s lacks the fix %r" % (host, entry["fix"]))
        if status == "unknown" and not cells[4].startswith("error: "):
            problems.append("fleet-report.txt row for %s does not say the error: %r" % (host, line))


def main():
    report_dir, expectations, ebpf_diag = sys.argv[1:4]
    with open(expectations, encoding="utf-8") as stream:
        expected = [line.rstrip("\n").split("\t") for line in stream if line.strip()]
    with open(report_dir + "/fleet-report.json", encoding="utf-8") as stream:
        fleet = json.load(stream)
    with open(report_dir + "/fleet-report.txt", encoding="utf-8") as stream:
        text = stream.read()
    problems = []
    hosts = {entry["host"]: entry for entry in fleet["hosts"]}
    if [entry["host"] for entry in fleet["hosts"]] != [e[0] for e in expected]:
        problems.append("report hosts %r, inventory hosts %r"
                        % ([entry["host"] for entry in fleet["hosts"]], [e[0] for e in expected]))
    counts = {status: sum(1 for e in expected if e[1] == status) for status in LABELS}
    for status, count in counts.items():
        if fleet.get(status) != count:
            problems.append("report counts %r %s hosts, expected %d" % (fleet.get(status), status, count))
    for host, status, root, error in expected:
        entry = hosts.get(host)
        if entry is None:
            continue
        if entry["status"] != status:
            problems.append("%s: status %s, expected %s (error: %s)" % (host, entry["status"], status, entry["error"]))
        elif status == "unknown":
            if error not in (entry["error"] or ""):
                problems.append("%s: error %r does not say %r" % (host, entry["error"], error))
        else:
            check_reported_host(entry, diag_report(ebpf_diag, root), problems)
    if not problems:
        check_table(text, hosts, expected, problems)
    for problem in problems:
        print("FAIL: " + problem)
    if not problems:
        print("fleet report: %d hosts as expected (%d ready, %d not ready, %d unknown)"
              % (len(expected), counts["ready"], counts["not_ready"], counts["unknown"]))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
