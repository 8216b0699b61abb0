"""deploy/kubernetes: what can be checked without a cluster or a container runtime.

* config.yaml parses and uses only keys the Zero to JupyterHub chart documents. DOCUMENTED
  below is transcribed from the chart's ``jupyterhub/values.schema.yaml``
  (jupyterhub/zero-to-jupyterhub-k8s, commit 02dd73df01bd): the keys under the top-level
  sections this config relies on (hub, proxy, singleuser, cull, scheduling, prePuller). A
  value of ``ANY`` marks an object the schema leaves open (``additionalProperties: true``:
  traitlets config, environment variables). ``image`` is the schema's shared ``image-spec``.
* The single-user image installs with deploy/jupyterhub/install.sh, the same command .ci/run
  uses to install what tests/hub needs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"

ANY = "any"
IMAGE = {"name": None, "tag": None, "digest": None, "pullPolicy": None, "pullSecrets": None}
DOCUMENTED = {
    "hub": {"config": ANY, "extraConfig": ANY, "concurrentSpawnLimit": None, "activeServerLimit": None,
            "allowNamedServers": None, "redirectToServer": None, "shutdownOnLogout": None,
            "services": ANY, "loadRoles": ANY, "baseUrl": None, "resources": ANY},
    "proxy": {"secretToken": None,
              "service": {"type": None, "labels": ANY, "annotations": ANY, "loadBalancerIP": None,
                          "loadBalancerSourceRanges": None, "nodePorts": {"http": None, "https": None},
                          "disableHttpPort": None, "extraPorts": None},
              "https": {"enabled": None, "type": None, "hosts": None,
                        "letsencrypt": {"contactEmail": None, "acmeServer": None},
                        "manual": {"key": None, "cert": None},
                        "secret": {"name": None, "key": None, "crt": None}},
              "chp": ANY, "traefik": ANY},
    "singleuser": {"image": IMAGE, "cmd": None, "defaultUrl": None, "extraEnv": ANY,
                   "storage": {"type": None, "capacity": None, "homeMountPath": None, "dynamic": ANY,
                               "static": ANY, "extraVolumes": None, "extraVolumeMounts": None,
                               "extraLabels": ANY},
                   "memory": {"limit": None, "guarantee": None},
                   "cpu": {"limit": None, "guarantee": None},
                   "startTimeout": None, "networkPolicy": ANY, "nodeSelector": ANY, "uid": None,
                   "fsGid": None, "extraFiles": ANY, "profileList": None},
    "cull": {"enabled": None, "users": None, "adminUsers": None, "removeNamedServers": None,
             "timeout": None, "every": None, "concurrency": None, "maxAge": None},
    "scheduling": {"userScheduler": {"enabled": None, "replicas": None, "logLevel": None,
                                     "plugins": ANY, "pluginConfig": None, "resources": ANY},
                   "podPriority": {"enabled": None, "globalDefault": None, "defaultPriority": None,
                                   "imagePullerPriority": None, "userPlaceholderPriority": None},
                   "userPlaceholder": {"enabled": None, "replicas": None, "resources": ANY},
                   "corePods": ANY, "userPods": ANY},
    "prePuller": {"hook": {"enabled": None, "pullOnlyOnChanges": None}, "continuous": {"enabled": None},
                  "extraImages": ANY},
}


def undocumented(values, documented, path=""):
    if documented is ANY or documented is None:
        return [] if documented is ANY or not isinstance(values, dict) else [f"{path} (not an object)"]
    if not isinstance(values, dict):
        return [f"{path} should be an object"]
    bad = []
    for key, value in values.items():
        where = f"{path}.{key}" if path else key
        if key not in documented:
            bad.append(where)
        else:
            bad += undocumented(value, documented[key], where)
    return bad


def test_config_yaml_parses_and_uses_only_documented_keys():
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install -e '.[hub]')")
    values = yaml.safe_load((K8S / "config.yaml").read_text())
    assert isinstance(values, dict)
    assert set(values) <= set(DOCUMENTED), set(values) - set(DOCUMENTED)
    assert undocumented(values, DOCUMENTED) == []
    # The pieces the recipe depends on.
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    assert values["singleuser"]["cmd"][-1].endswith("deploy/jupyterhub/kmeans_singleuser.py")
    assert values["singleuser"]["memory"]["limit"] and values["singleuser"]["cpu"]["limit"]


def test_the_image_installs_with_the_command_the_tests_use():
    dockerfile = (K8S / "Dockerfile").read_text()
    runs = [line for line in dockerfile.splitlines() if line.startswith("RUN ")]
    assert any("bash deploy/jupyterhub/install.sh" in line for line in runs), runs
    assert "deploy/jupyterhub/install.sh" in (ROOT / ".ci" / "run").read_text()
    cmd = re.search(r'^CMD \[(.*)\]$', dockerfile, re.M).group(1)
    assert "deploy/jupyterhub/kmeans_singleuser.py" in cmd
