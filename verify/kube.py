"""The real `ClusterApi`: the official Kubernetes client, with the stack's kubeconfig."""

from __future__ import annotations

import base64
import socket

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.stream import stream
from websocket import WebSocketException

from verify.checks import ISTIO_NAMESPACE, ClusterTarget, TimedOut, Unreachable

REQUEST_TIMEOUT = 15
# What the client raises for a connection that fails below HTTP: sockets, TLS, the websocket of an
# exec, or the `aws eks get-token` plugin that makes each token.
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError, ConfigException, WebSocketException)


def _first_line(text: str, limit: int = 300) -> str:
    """The error's first line, cut at a word, never mid-hostname."""
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + " ..."


def transport_cause(err: BaseException) -> str:
    """What a failure below HTTP was: "dns", "credentials" (the token plugin) or "network"."""
    chain, seen = [], err
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(str(e) for e in chain).lower()
    if (
        any(isinstance(e, socket.gaierror) for e in chain)
        or "name or service not known" in text
        or "failed to resolve" in text
        or "nodename nor servname" in text
    ):
        return "dns"
    if (
        any(isinstance(e, ConfigException) for e in chain)
        or "exec" in text
        and ("plugin" in text or "returned" in text)
        or "credentials" in text
    ):
        return "credentials"
    return "network"


class KubernetesClusterApi:
    def __init__(self, target: ClusterTarget):
        try:
            api_client = config.new_client_from_config_dict(target.kubeconfig)
        except Exception as err:  # the exec plugin (aws eks get-token) or a broken kubeconfig
            raise Unreachable(f"cannot load the kubeconfig ({_first_line(str(err))})", cause="credentials") from err
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except ApiException as err:
            if err.status == 404:
                return None
            if err.status in (401, 403):
                raise Unreachable(
                    f"access denied ({err.status}): `aws eks get-token` found no usable credentials (is the AWS CLI"
                    " installed and logged in?) or the identity has no access entry on the cluster",
                    cause="access",
                ) from err
            raise Unreachable(f"API error {err.status}: {err.reason}") from err
        except urllib3.exceptions.ReadTimeoutError as err:
            raise TimedOut(str(err)) from err
        except _TRANSPORT_ERRORS as err:
            raise Unreachable(_first_line(str(err)), cause=transport_cause(err)) from err

    def deployment_status(self, namespace, name):
        deployment = self._call(self.apps.read_namespaced_deployment_status, name, namespace)
        if deployment is None:
            return None
        ready = deployment.status.ready_replicas if deployment.status else None
        return ready or 0, (deployment.spec.replicas if deployment.spec else None) or 0

    def service_addresses(self, namespace, name):
        service = self._call(self.core.read_namespaced_service, name, namespace)
        if service is None:
            return None
        ingress = (
            service.status.load_balancer.ingress if service.status and service.status.load_balancer else None
        ) or []
        return [i.hostname or i.ip for i in ingress if i.hostname or i.ip]

    def secret_data(self, namespace, name):
        secret = self._call(self.core.read_namespaced_secret, name, namespace)
        if secret is None:
            return None
        return {key: base64.b64decode(value).decode(errors="replace") for key, value in (secret.data or {}).items()}

    def config_map_data(self, namespace, name):
        config_map = self._call(self.core.read_namespaced_config_map, name, namespace)
        return None if config_map is None else dict(config_map.data or {})

    def remote_secret_clusters(self):
        secrets = self._call(
            self.core.list_namespaced_secret, ISTIO_NAMESPACE, label_selector="istio/multiCluster=true"
        )
        return [
            (s.metadata.annotations or {}).get(
                "networking.istio.io/cluster", s.metadata.name.removeprefix("istio-remote-secret-")
            )
            for s in (secrets.items if secrets else [])
        ]

    def scale_deployment(self, namespace, name, replicas):
        return (
            self._call(self.apps.patch_namespaced_deployment_scale, name, namespace, {"spec": {"replicas": replicas}})
            is not None
        )

    def run_in_deployment(self, namespace, app, command, timeout):
        pods = self._call(
            self.core.list_namespaced_pod, namespace, label_selector=f"app={app}", field_selector="status.phase=Running"
        )
        if not pods or not pods.items:
            raise TimedOut(f"no running pod with app={app} in {namespace}")
        try:
            session = stream(
                self.core.connect_get_namespaced_pod_exec,
                pods.items[0].metadata.name,
                namespace,
                container=app,
                command=command,
                stderr=False,
                stdin=False,
                stdout=True,
                tty=False,
                _preload_content=False,
            )
            session.run_forever(timeout=timeout)
            finished = not session.is_open()
            output = session.read_all()
            session.close()
        except ApiException as err:
            raise Unreachable(f"exec into {namespace}/{app} failed: {err.status} {err.reason}") from err
        except _TRANSPORT_ERRORS as err:
            raise Unreachable(_first_line(str(err)), cause=transport_cause(err)) from err
        if not finished:
            raise TimedOut(f"still running after {timeout}s")
        return output
