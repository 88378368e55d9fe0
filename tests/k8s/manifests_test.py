#!/usr/bin/env python3
"""Renders k8s/overlays/{dev,production} with `kubectl kustomize` and checks them against the code.

    manifests_test.py SOURCE_DIR

For every process of every overlay: a Deployment with maxSurge 1 / maxUnavailable 0, a grace period
above FLIGHTDECK_SHUTDOWN_GRACE, a non-root read-only locked-down container with requests and
limits, startup/liveness/readiness probes on its admin port; its container ports equal the ports
its environment configures and its Service serves them under the name the other processes dial;
every environment variable it gets is one the process reads (found in the sources), and every
variable it reads is wired or deliberately left to its default (listed below, with the reason); an
HPA and a PDB. The NetworkPolicies, evaluated like a cluster does (a flow needs an egress rule of
the client and an ingress rule of the server), allow exactly the process-to-process gRPC edges
that the code makes (derived from which FLIGHTDECK_<SERVICE>_ADDR each process reads) and nothing
else between the processes, plus DNS, the data stores, the collector, Prometheus and the ingress
controller. The Prometheus Operator rules equal monitoring/'s. Prints "N passed, N failed".
"""
import ipaddress
import os
import re
import subprocess
import sys

import yaml

SRC = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../.."))
PROCESSES = ["gateway", "releases", "backups", "health", "incidents"]
SERVICES = PROCESSES[1:]

# Variables the processes read that the manifests leave unset on purpose.
UNWIRED = {
    "FLIGHTDECK_MASTER_KEY": "the key is a mounted Secret file (FLIGHTDECK_MASTER_KEY_FILE)",
    "FLIGHTDECK_BACKUP_KEY": "older name of FLIGHTDECK_MASTER_KEY",
    "FLIGHTDECK_BACKUP_KEY_FILE": "older name of FLIGHTDECK_MASTER_KEY_FILE",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "OTEL_EXPORTER_OTLP_ENDPOINT covers it",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "collector credentials: the user's own Secret",
    "OTEL_EXPORTER_OTLP_HEADERS": "collector credentials: the user's own Secret",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "OTEL_EXPORTER_OTLP_PROTOCOL covers it",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "default",
    "OTEL_EXPORTER_OTLP_TIMEOUT": "default",
    "OTEL_BSP_SCHEDULE_DELAY": "default",
    "OTEL_BSP_MAX_QUEUE_SIZE": "default",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "default",
    "OTEL_SDK_DISABLED": "default",
    "FLIGHTDECK_GRPC_INSECURE": "plaintext between the processes is not for a cluster: mutual TLS is on",
    "FLIGHTDECK_TLS_RELOAD_INTERVAL": "default (60s): a renewed Secret is picked up within a minute",
}
# Read by code every process links but used only by the services' gRPC/admin servers.
NOT_THE_GATEWAYS = {"FLIGHTDECK_GRPC_PORT", "FLIGHTDECK_ADMIN_PORT"}
# Keys of the Secrets the manifests reference but production does not create (k8s/README.md).
SECRET_KEYS = {"flightdeck-database": {"DATABASE_URL", "REDIS_URL", "FLIGHTDECK_DATABASE_READ_URL"}}

failures = []
passes = 0


def check(ok, what):
    global passes
    if ok:
        passes += 1
    else:
        failures.append(what)
        print("FAIL:", what)


# --- what the code reads and calls ------------------------------------------------------------------
VAR = re.compile(r'"((?:FLIGHTDECK|OTEL|DATABASE|REDIS|LOG)_[A-Z0-9_]*[A-Z0-9])"')


def sources(*dirs):
    for d in dirs:
        for root, _, files in os.walk(os.path.join(SRC, d)):
            for f in files:
                if f.endswith((".cc", ".h")):
                    yield os.path.join(root, f)


def names_in(paths):
    found = set()
    for path in paths:
        found |= set(VAR.findall(open(path, encoding="utf-8").read()))
    return found


def child_env_names():
    # The command driver passes these to deploy commands; the process does not read them.
    text = open(os.path.join(SRC, "services/releases/driver.cc"), encoding="utf-8").read()
    return set(re.findall(r'\{"(FLIGHTDECK_[A-Z_]+)",', text))


def links_alerts(process):
    text = open(os.path.join(SRC, f"services/{process}/CMakeLists.txt"), encoding="utf-8").read()
    return "fd_alerts" in text


def loads_master_keys(process):
    return any("LoadServiceKeys(" in open(path, encoding="utf-8").read()
               for path in sources(f"services/{process}"))


def read_by(process):
    names = names_in(sources(f"services/{process}", "common")) - child_env_names()
    if not loads_master_keys(process):
        # common/secrets names the key variables; only the processes that load the keys read them.
        names -= {"FLIGHTDECK_MASTER_KEY", "FLIGHTDECK_MASTER_KEY_FILE", "FLIGHTDECK_BACKUP_KEY",
                  "FLIGHTDECK_BACKUP_KEY_FILE"}
    if process == "gateway":
        names -= NOT_THE_GATEWAYS
    else:
        names.discard("FLIGHTDECK_ADMIN_TOKEN")  # releases only filters it out of child envs
    return names


def calls_of(process):
    # A process calls S when its own code (or the alerts library it links) reads S's address.
    # common/net reads every address only to deny connections to them: not a call.
    dirs = [f"services/{process}"] + (["common/alerts"] if links_alerts(process) else [])
    names = names_in(sources(*dirs))
    return {s for s in SERVICES if s != process and f"FLIGHTDECK_{s.upper()}_ADDR" in names}


# --- rendering ------------------------------------------------------------------------------------
def render(path):
    out = subprocess.run(["kubectl", "kustomize", path], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"kubectl kustomize {path} failed:\n{out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def parse_duration(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


# --- NetworkPolicy evaluation ---------------------------------------------------------------------
def matches(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items()) and \
        not (selector or {}).get("matchExpressions")


def peer_matches(peer, ns, pod_labels, ip):
    """Does a from/to peer match an endpoint: a pod (ns, labels) of the cluster, or an ip."""
    if "ipBlock" in peer:
        # Some CNIs (Calico) apply ipBlock to pod addresses too: a pod has POD_IP here.
        ip = POD_IP if pod_labels is not None else ip
        net = ipaddress.ip_network(peer["ipBlock"]["cidr"])
        if ip is None or ipaddress.ip_address(ip) not in net:
            return False
        return not any(ipaddress.ip_address(ip) in ipaddress.ip_network(e)
                       for e in peer["ipBlock"].get("except", []))
    if pod_labels is None:
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": ns}):
            return False
    elif ns != "self":
        return False
    return matches(peer.get("podSelector"), pod_labels)


POD_IP = "10.244.1.7"


def port_matches(ports, port, protocol="TCP"):
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports)


def allowed(policies, direction, subject_labels, ns, peer_labels, ip, port, protocol="TCP"):
    """Whether the subject pod's policies of this direction allow the flow (no policy: allowed)."""
    key = "ingress" if direction == "Ingress" else "egress"
    peers_key = "from" if key == "ingress" else "to"
    selecting = [p for p in policies if matches(p["spec"]["podSelector"], subject_labels)
                 and direction in p["spec"].get("policyTypes", ["Ingress"])]
    if not selecting:
        return True
    for p in selecting:
        for rule in p["spec"].get(key) or []:
            if not port_matches(rule.get("ports"), port, protocol):
                continue
            peers = rule.get(peers_key)
            if not peers or any(peer_matches(x, ns, peer_labels, ip) for x in peers):
                return True
    return False


def flow(policies, client, server, port, server_ns="self", server_ip=None, protocol="TCP"):
    """A flow from a pod (labels) to a pod (labels) or an address; None labels: outside."""
    c_ns, c_labels = client
    s_labels = server
    ok = True
    if c_ns == "self":
        ok &= allowed(policies, "Egress", c_labels, server_ns, s_labels, server_ip, port, protocol)
    if server_ns == "self" and s_labels is not None:
        ok &= allowed(policies, "Ingress", s_labels, c_ns, c_labels, None, port, protocol)
    return ok


# --- the checks -----------------------------------------------------------------------------------
def check_overlay(overlay):
    docs = render(os.path.join(SRC, "k8s/overlays", overlay))
    deployments, services = by_kind(docs, "Deployment"), by_kind(docs, "Service")
    configmaps, secrets = by_kind(docs, "ConfigMap"), by_kind(docs, "Secret")
    hpas, pdbs = by_kind(docs, "HorizontalPodAutoscaler"), by_kind(docs, "PodDisruptionBudget")
    policies = list(by_kind(docs, "NetworkPolicy").values())
    shared = configmaps["flightdeck-config"]["data"]
    grace = parse_duration(shared["FLIGHTDECK_SHUTDOWN_GRACE"])
    pod_labels, grpc_ports, admin_ports = {}, {}, {}

    for p in PROCESSES:
        where = f"{overlay}/{p}"
        d = deployments.get(f"flightdeck-{p}")
        check(d is not None, f"{where}: a Deployment flightdeck-{p}")
        if d is None:
            continue
        spec, pod = d["spec"], d["spec"]["template"]["spec"]
        pod_labels[p] = d["spec"]["template"]["metadata"]["labels"]
        strategy = spec.get("strategy", {})
        check(strategy.get("type") == "RollingUpdate" and
              strategy.get("rollingUpdate") == {"maxSurge": 1, "maxUnavailable": 0},
              f"{where}: rolling update with maxSurge 1, maxUnavailable 0 ({strategy})")
        check(pod.get("terminationGracePeriodSeconds", 30) > grace + 5,
              f"{where}: grace period above FLIGHTDECK_SHUTDOWN_GRACE ({grace}s) + a readiness period")
        psc = pod.get("securityContext", {})
        check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532 and
              psc.get("runAsGroup") == 65532 and
              psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
              f"{where}: pod runs as 65532 non-root with seccomp RuntimeDefault")
        check(pod.get("automountServiceAccountToken") is False, f"{where}: no service account token")
        check(len(pod["containers"]) == 1, f"{where}: one container")
        c = pod["containers"][0]
        sc = c.get("securityContext", {})
        check(sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
              and sc.get("capabilities", {}).get("drop") == ["ALL"] and not sc.get("privileged"),
              f"{where}: no privilege escalation, read-only root, capabilities dropped")
        check(c.get("args") == [f"flightdeck-{p}"], f"{where}: runs flightdeck-{p} ({c.get('args')})")
        res = c.get("resources", {})
        check(all(k in res.get(t, {}) for t in ("requests", "limits") for k in ("cpu", "memory")),
              f"{where}: cpu and memory requests and limits")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        vols = {v["name"]: v for v in pod.get("volumes", [])}
        check("/tmp" in mounts and "emptyDir" in vols.get(mounts["/tmp"], {}),
              f"{where}: /tmp is an emptyDir (the root file system is read-only)")

        # Environment: literal env, the ConfigMaps and Secrets it takes whole.
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        for src in c.get("envFrom", []):
            if "configMapRef" in src:
                name = src["configMapRef"]["name"]
                check(name in configmaps, f"{where}: envFrom ConfigMap {name} exists")
                env.update(configmaps.get(name, {}).get("data", {}))
            if "secretRef" in src:
                name = src["secretRef"]["name"]
                keys = set(secrets[name].get("data", {})) if name in secrets else SECRET_KEYS.get(name)
                check(keys is not None, f"{where}: envFrom Secret {name} has known keys")
                env.update({k: None for k in keys or ()})
        reads = read_by(p)
        stray = set(env) - reads
        check(not stray, f"{where}: every variable set is one the process reads (stray: {sorted(stray)})")
        missing = reads - set(env) - set(UNWIRED)
        check(not missing, f"{where}: every variable the process reads is wired (missing: {sorted(missing)})")
        for required in ("DATABASE_URL", "REDIS_URL"):
            check(required in env, f"{where}: {required} is set")
        if p in ("backups", "health", "incidents"):
            key_file = env.get("FLIGHTDECK_MASTER_KEY_FILE", "")
            check(any(key_file.startswith(m + "/") and "secret" in vols.get(n, {})
                      for m, n in mounts.items()),
                  f"{where}: the master key file is in a mounted Secret ({key_file})")

        # Ports: the container's equal the environment's; probes on the admin (or HTTP) port.
        ports = {cp["name"]: cp["containerPort"] for cp in c.get("ports", [])}
        if p == "gateway":
            want = {"http": int(env.get("FLIGHTDECK_HTTP_PORT", 8080))}
            probe_port = "http"
        else:
            want = {"grpc": int(env["FLIGHTDECK_GRPC_PORT"]), "admin": int(env["FLIGHTDECK_ADMIN_PORT"])}
            grpc_ports[p], admin_ports[p] = want["grpc"], want["admin"]
            probe_port = "admin"
        check(ports == want, f"{where}: container ports {ports} == configured {want}")
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                            ("readinessProbe", "/readyz")):
            get = c.get(probe, {}).get("httpGet", {})
            check(get.get("path") == path and get.get("port") in (probe_port, want[probe_port]),
                  f"{where}: {probe} GET {path} on the {probe_port} port ({get})")
        startup = c.get("startupProbe", {})
        check(startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3) >=
              parse_duration(shared["FLIGHTDECK_STARTUP_TIMEOUT"]),
              f"{where}: the startup probe waits at least FLIGHTDECK_STARTUP_TIMEOUT")

        svc = services.get(p)
        check(svc is not None, f"{where}: a Service named {p} (the name clients dial and TLS checks)")
        if svc:
            check(matches({"matchLabels": svc["spec"]["selector"]}, pod_labels[p]),
                  f"{where}: the Service selects the pods")
            sports = {sp["name"]: (sp["port"], sp.get("targetPort")) for sp in svc["spec"]["ports"]}
            check(sports == {n: (v, n) for n, v in want.items()},
                  f"{where}: Service ports {sports} serve the container's {want}")
        if p != "gateway":
            addr = shared.get(f"FLIGHTDECK_{p.upper()}_ADDR")
            check(addr == f"{p}:{want['grpc']}", f"{where}: FLIGHTDECK_{p.upper()}_ADDR = {addr}")

        hpa = hpas.get(f"flightdeck-{p}", {}).get("spec", {})
        check(hpa.get("scaleTargetRef", {}).get("name") == f"flightdeck-{p}" and
              hpa.get("minReplicas", 0) >= 1 and hpa.get("maxReplicas", 0) >= hpa.get("minReplicas", 1),
              f"{where}: an HPA")
        pdb = pdbs.get(f"flightdeck-{p}", {}).get("spec", {})
        check(matches(pdb.get("selector"), pod_labels[p]), f"{where}: a PDB selecting the pods")
        # Evictions one at a time, and never blocked for good: a drain must be able to proceed.
        min_replicas = hpa.get("minReplicas", spec.get("replicas", 1))
        check(pdb.get("maxUnavailable") == 1 or 0 < pdb.get("minAvailable", 0) < min_replicas,
              f"{where}: the PDB allows one eviction at a time ({pdb}, minReplicas {min_replicas})")

    # NetworkPolicies.
    deny = [pol for pol in policies if pol["spec"]["podSelector"] == {} and
            set(pol["spec"].get("policyTypes", [])) == {"Ingress", "Egress"} and
            not pol["spec"].get("ingress") and not pol["spec"].get("egress")]
    check(len(deny) == 1, f"{overlay}: one default-deny policy for ingress and egress")
    code_edges = {(c, s) for c in PROCESSES for s in calls_of(c)}
    check(len(code_edges) >= 5, f"{overlay}: edges found in the code ({sorted(code_edges)})")
    policy_edges = set()
    for c in PROCESSES:
        for s in PROCESSES:
            if c == s:
                continue
            for name, port in {"grpc": grpc_ports.get(s), "admin": admin_ports.get(s),
                               "http": 8080 if s == "gateway" else None}.items():
                if port and flow(policies, ("self", pod_labels[c]), pod_labels[s], port):
                    policy_edges.add((c, s) if name == "grpc" else (c, s, name))
    check(policy_edges == code_edges,
          f"{overlay}: process-to-process flows allowed {sorted(policy_edges)} == the code's {sorted(code_edges)}")
    outsider = ("default", {"app": "something-else"})
    for s in SERVICES:
        check(not flow(policies, outsider, pod_labels[s], grpc_ports[s]),
              f"{overlay}: another namespace cannot reach {s}'s gRPC port")
        prometheus = ("monitoring", {"app.kubernetes.io/name": "prometheus"})
        check(flow(policies, prometheus, pod_labels[s], admin_ports[s]),
              f"{overlay}: Prometheus reaches {s}'s admin port")
    check(flow(policies, ("monitoring", {"app.kubernetes.io/name": "prometheus"}), pod_labels["gateway"], 8080),
          f"{overlay}: Prometheus reaches the gateway's /metrics")
    check(flow(policies, ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}), pod_labels["gateway"], 8080),
          f"{overlay}: the ingress controller reaches the gateway")
    dns = {"k8s-app": "kube-dns"}
    collector = {"app.kubernetes.io/name": "otel-collector"}
    store_ip = "10.20.0.5"
    for p in PROCESSES:
        me = ("self", pod_labels[p])
        check(flow(policies, me, dns, 53, server_ns="kube-system", protocol="UDP"), f"{overlay}: {p} resolves names")
        check(flow(policies, me, collector, 4318, server_ns="observability"), f"{overlay}: {p} exports spans")
        for port in (5432, 6379):
            check(flow(policies, me, None, port, server_ns="external", server_ip=store_ip),
                  f"{overlay}: {p} reaches the data store port {port}")
        external = flow(policies, me, None, 443, server_ns="external", server_ip="203.0.113.7")
        # Each connects where users point it (the gateway: chat-ops answers to a response_url).
        check(external, f"{overlay}: {p} external egress is {external}")
        check(not flow(policies, me, None, 80, server_ns="external", server_ip="169.254.169.254"),
              f"{overlay}: {p} cannot reach the cloud metadata address")


def check_operator():
    docs = render(os.path.join(SRC, "k8s/prometheus-operator"))
    rules = yaml.safe_load(open(os.path.join(SRC, "monitoring/prometheus/rules/flightdeck.yml")))
    pr = [d for d in docs if d["kind"] == "PrometheusRule"]
    check(len(pr) == 1 and pr[0]["spec"]["groups"] == rules["groups"],
          "prometheus-operator: the PrometheusRule holds monitoring/'s rules unchanged")
    sm = [d for d in docs if d["kind"] == "ServiceMonitor"]
    ports = {e["port"] for d in sm for e in d["spec"]["endpoints"]}
    check(ports == {"admin", "http"}, f"prometheus-operator: ServiceMonitor scrapes admin and http ({ports})")


for overlay in ("dev", "production"):
    check_overlay(overlay)
check_operator()
print(f"{passes} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
