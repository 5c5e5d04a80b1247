#!/usr/bin/env python3
"""Issue 12: the fleet examples are what their consumers accept.

- setup/node-problem-detector/bpfready.json: node-problem-detector's custom
  plugin monitor config, with the fields NPD requires and checks when it
  loads one (plugin "custom", durations that parse, a rule timeout no longer
  than the global one, a default condition for every permanent rule), the
  installed ebpf_diag path, `--format npd`, a timeout below the invoke
  interval and a max_output_length that takes the 80-byte line.
- setup/kubernetes/bpfready-nfd-daemonset.yaml: a DaemonSet whose container
  runs `ebpf_diag --format nfd`, with the NFD features.d hostPath mounted
  where it writes, volumes and mounts that match, the capabilities a BPF
  load needs; and its shell loop, run here against a scratch features.d
  with the built ebpf_diag over a fixture host, leaves exactly one valid
  feature file and no temporary file.

  tests/fleet/fleet_configs.py BUILD_DIR
Exit status: 0 passed, 1 failed, 77 skipped (python3-yaml missing), a
failure instead when BPFREADY_REQUIRE_SYSTEM_TESTS is set.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
NPD_CONFIG = os.path.join(SOURCE, "setup", "node-problem-detector", "bpfready.json")
DAEMONSET = os.path.join(SOURCE, "setup", "kubernetes", "bpfready-nfd-daemonset.yaml")
INSTALLED_DIAG = "/usr/bin/ebpf_diag"  # where the Debian package installs it
FEATURES_D = "/etc/kubernetes/node-feature-discovery/features.d"
NPD_LINE_MAX = 80

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def go_duration(text):
    """Seconds in a Go duration such as "10m", "45s" or "1h30m"; None if invalid."""
    if not isinstance(text, str) or not re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", text):
        return None
    scale = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, _, u in re.findall(r"(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)", text))


def check_npd_config():
    with open(NPD_CONFIG, encoding="utf-8") as f:
        config = json.load(f)
    check(config.get("plugin") == "custom", "NPD: plugin must be \"custom\"")
    check(isinstance(config.get("source"), str) and config["source"], "NPD: source must be a non-empty string")
    plugin = config.get("pluginConfig", {})
    interval = go_duration(plugin.get("invoke_interval"))
    timeout = go_duration(plugin.get("timeout"))
    check(interval is not None, "NPD: pluginConfig.invoke_interval must be a Go duration")
    check(timeout is not None, "NPD: pluginConfig.timeout must be a Go duration")
    max_output = plugin.get("max_output_length")
    check(isinstance(max_output, int) and max_output >= NPD_LINE_MAX,
          f"NPD: max_output_length must be at least {NPD_LINE_MAX}, ebpf_diag's line length")
    check(isinstance(plugin.get("concurrency"), int) and plugin["concurrency"] >= 1, "NPD: concurrency must be >= 1")

    conditions = config.get("conditions")
    check(isinstance(conditions, list) and conditions, "NPD: conditions must be a non-empty list")
    condition_types = set()
    for condition in conditions or []:
        for field in ("type", "reason", "message"):
            check(isinstance(condition.get(field), str) and condition[field], f"NPD: a condition has no {field}")
        condition_types.add(condition.get("type"))
    check("BPFProfilingNotReady" in condition_types, "NPD: no BPFProfilingNotReady condition")

    rules = config.get("rules")
    check(isinstance(rules, list) and rules, "NPD: rules must be a non-empty list")
    for rule in rules or []:
        kind = rule.get("type")
        check(kind in ("permanent", "temporary"), f"NPD: rule type {kind!r} is neither permanent nor temporary")
        check(isinstance(rule.get("reason"), str) and rule["reason"], "NPD: a rule has no reason")
        if kind == "permanent":
            # NPD refuses a permanent rule without a default condition.
            check(rule.get("condition") in condition_types,
                  f"NPD: permanent rule condition {rule.get('condition')!r} has no default condition")
        check(rule.get("path") == INSTALLED_DIAG, f"NPD: rule path must be {INSTALLED_DIAG}, not {rule.get('path')!r}")
        args = rule.get("args", [])
        check(isinstance(args, list) and all(isinstance(a, str) for a in args), "NPD: args must be a list of strings")
        check(any(args[i:i + 2] == ["--format", "npd"] for i in range(len(args))) or "--format=npd" in args,
              f"NPD: args {args} do not give --format npd")
        rule_timeout = go_duration(rule.get("timeout", plugin.get("timeout")))
        check(rule_timeout is not None, "NPD: the rule timeout must be a Go duration")
        if rule_timeout is not None and timeout is not None:
            check(rule_timeout <= timeout, "NPD: a rule timeout above the global timeout is refused by NPD")
        if rule_timeout is not None and interval is not None:
            check(rule_timeout < interval, "NPD: the rule timeout must be below invoke_interval")


def check_daemonset(yaml):
    with open(DAEMONSET, encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    check(len(documents) == 1, "DaemonSet: the manifest must hold exactly one object")
    ds = documents[0]
    check(ds.get("apiVersion") == "apps/v1", "DaemonSet: apiVersion must be apps/v1")
    check(ds.get("kind") == "DaemonSet", "DaemonSet: kind must be DaemonSet")
    spec = ds.get("spec", {})
    template = spec.get("template", {})
    selector = spec.get("selector", {}).get("matchLabels", {})
    labels = template.get("metadata", {}).get("labels", {})
    check(selector and all(labels.get(k) == v for k, v in selector.items()),
          "DaemonSet: the selector does not match the pod template's labels")
    pod = template.get("spec", {})
    volumes = {v.get("name"): v for v in pod.get("volumes", [])}
    check(len(volumes) == len(pod.get("volumes", [])), "DaemonSet: two volumes share a name")
    containers = pod.get("containers", [])
    check(len(containers) == 1, "DaemonSet: one container expected")
    if not containers:
        return None
    container = containers[0]
    command = " ".join(container.get("command", []) + container.get("args", []))
    check(re.search(r"ebpf_diag\s+--format\s+nfd\b", command), "DaemonSet: the container does not run ebpf_diag --format nfd")
    check(isinstance(container.get("image"), str) and container["image"], "DaemonSet: no image")

    mounts = container.get("volumeMounts", [])
    mounted = {m.get("name") for m in mounts}
    for mount in mounts:
        check(mount.get("name") in volumes, f"DaemonSet: mount {mount.get('name')!r} names no volume")
    for name in volumes:
        check(name in mounted, f"DaemonSet: volume {name!r} is not mounted")
    features = [m for m in mounts if m.get("mountPath") == FEATURES_D]
    if check(len(features) == 1, f"DaemonSet: {FEATURES_D} is not mounted exactly once"):
        volume = volumes.get(features[0].get("name"), {})
        check(volume.get("hostPath", {}).get("path") == FEATURES_D, f"DaemonSet: the features.d mount is not the host's {FEATURES_D}")
        check(not features[0].get("readOnly", False), "DaemonSet: features.d must be writable")
    for mount in mounts:
        volume = volumes.get(mount.get("name"), {})
        host = volume.get("hostPath", {}).get("path")
        check(host is not None, f"DaemonSet: volume {mount.get('name')!r} is not a hostPath")
        if host is not None and host != FEATURES_D:
            check(mount.get("mountPath") == host, f"DaemonSet: {host} must appear at the same path in the container")
            check(mount.get("readOnly") is True, f"DaemonSet: {host} must be mounted read-only")
    check(any(m.get("mountPath") == "/sys/kernel/tracing" for m in mounts), "DaemonSet: the host's tracefs is not mounted")

    security = container.get("securityContext", {})
    added = set(security.get("capabilities", {}).get("add", []))
    check(security.get("privileged") is True or {"BPF", "PERFMON"} <= added or "SYS_ADMIN" in added,
          "DaemonSet: the container cannot load BPF programs (no CAP_BPF+CAP_PERFMON, CAP_SYS_ADMIN or privileged)")
    return container


def run_loop(container, build):
    """The container's loop, once, against a scratch features.d."""
    command = container.get("command", [])
    if not check(command[:2] == ["/bin/sh", "-c"] and len(command) == 3, "DaemonSet: command is not /bin/sh -c SCRIPT"):
        return
    diag = os.path.join(build, "tools", "ebpf_diag", "ebpf_diag")
    fixture = os.path.join(SOURCE, "tests", "fixtures", "hosts", "debian12-vm-6.18")
    with tempfile.TemporaryDirectory(prefix="bpfready-nfd-") as scratch:
        features_d = os.path.join(scratch, "features.d")
        os.mkdir(features_d)
        wrapper = os.path.join(scratch, "ebpf_diag")
        with open(wrapper, "w", encoding="utf-8") as f:
            f.write(f"#!/bin/sh\nexec '{diag}' --root '{fixture}' --no-probe \"$@\"\n")
        os.chmod(wrapper, 0o755)
        script = command[2]
        check(script.count(FEATURES_D) == 1 and script.count("/usr/bin/ebpf_diag") == 1,
              "DaemonSet: the script should name features.d and /usr/bin/ebpf_diag once each")
        script = script.replace(FEATURES_D, features_d).replace("/usr/bin/ebpf_diag", wrapper)
        check(subprocess.run(["/bin/sh", "-n", "-c", script], check=False).returncode == 0,
              "DaemonSet: the script does not parse")
        loop = subprocess.Popen(["/bin/sh", "-c", script], start_new_session=True)
        target = os.path.join(features_d, "bpfready")
        try:
            deadline = time.monotonic() + 20
            while not os.path.exists(target) and time.monotonic() < deadline and loop.poll() is None:
                time.sleep(0.05)
            time.sleep(0.2)
        finally:
            os.killpg(loop.pid, signal.SIGTERM)
            try:
                loop.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(loop.pid, signal.SIGKILL)
                loop.wait()
        if not check(os.path.exists(target), "DaemonSet: the loop wrote no features.d/bpfready"):
            return
        check(os.listdir(features_d) == ["bpfready"], f"DaemonSet: features.d holds {os.listdir(features_d)}")
        check(loop.returncode == 0, f"DaemonSet: the loop ended with {loop.returncode} on SIGTERM")
        with open(target, encoding="utf-8") as f:
            lines = f.read().splitlines()
        check(re.fullmatch(r"# \+expiry-time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[0] if lines else ""),
              f"DaemonSet: the first line is not an NFD expiry-time: {lines[:1]}")
        check("bpfready.io/ready=true" in lines, f"DaemonSet: no bpfready.io/ready=true for a ready fixture: {lines}")
        for line in lines[1:]:
            check(re.fullmatch(r"bpfready\.io/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?=([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?", line)
                  and len(line.split("=", 1)[1]) <= 63, f"DaemonSet: not a label line: {line!r}")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else None
    if not build:
        print("usage: fleet_configs.py BUILD_DIR", file=sys.stderr)
        return 2
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:
        if os.environ.get("BPFREADY_REQUIRE_SYSTEM_TESTS"):
            print("FAIL: python3-yaml is missing (BPFREADY_REQUIRE_SYSTEM_TESTS is set)", file=sys.stderr)
            return 1
        print("SKIP: python3-yaml is missing (setup/install-deps.sh)")
        return 77
    check_npd_config()
    container = check_daemonset(yaml)
    if container is not None:
        run_loop(container, build)
    for failure in failures:
        print("FAIL:", failure, file=sys.stderr)
    if failures:
        return 1
    print("PASS: the NPD plugin config and the NFD DaemonSet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
