"""Runs `__main__.py` under Pulumi's mock runtime and captures the resource graph.

`run_program(config)` sets the stack config, runs the whole program as `pulumi up` would (no
preview, every value known), and returns a `Run`: every registered resource with its type, inputs
(secrets unwrapped, secret paths remembered), parent, provider(s) and dependencies, plus the stack
exports. Provider behaviour that matters to assertions lives in `mocks.py`.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import runpy
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import struct_pb2
from pulumi import _types
from pulumi._utils import ContextProperty
from pulumi.output import _OutputData
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "istio-eks-mesh"


# The SDK walks the whole Python stack at every registration to report the resource's source
# position to the engine; under pytest that stack is deep and the walk is a tenth of the suite's
# time. Nothing here reads source positions, so the harness reports none.
def no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


# Every property of every resource is an Output the SDK makes of four futures (value, known, secret,
# dependencies) and a task that waits on them in turn; with some thirty properties a resource, that
# is a third of a program run. Made of the one `_OutputData` future, as the SDK makes a resource's
# own `urn` and `id` (`resource_output`, pulumi/runtime/resource.py@3.272.0), each resolves to the same
# value, knownness, secrecy and dependencies, or fails with the same error.
def lean_transfer_properties(res: pulumi.Resource, props: dict, custom: bool) -> dict:
    def resolve(future: asyncio.Future, value, is_known: bool, is_secret: bool, deps, failed) -> None:
        if failed is not None:
            future.set_exception(failed)
            return
        resources = {*(deps or ()), res}
        future.set_result(_OutputData(resources=resources, value=value, is_known=is_known, is_secret=is_secret))

    resolvers = {}
    loop = asyncio.get_event_loop()
    for name in props:
        if name == "urn" or (name == "id" and custom):
            continue  # the SDK resolves these itself
        future = loop.create_future()
        resolvers[name] = functools.partial(resolve, future)
        res.__dict__[name] = pulumi.Output._from_data(future)
    return resolvers


# The SDK's per-Output bookkeeping, the rest of a run's cost, done with fewer steps and the same
# result (pulumi@3.272.0): every new Output asks whether its value holds an unknown (a walk with a
# closure and a set, even for a string); every property's type is unwrapped anew at each
# serialization, and a resource class's property types are worked out anew for each resource; each
# read of a setting looks its context variable up twice; each Output looks up the settings' lock and
# set of pending outputs when made and again when done, always the same two objects within a run.
# `test_harness.py` runs reference meshes with the lean and the stock functions (an update, a
# preview, a failure) and compares everything captured.
_PLAIN = frozenset({str, int, float, bool, type(None), bytes})
_stock_contains_unknowns = rpc.contains_unknowns
_stock_unwrap_type = _types.unwrap_type
_unwrapped: dict[Any, Any] = {}
_stock_create_urn = sdk_resource.create_urn
_stock_resource_types = _types.resource_types
_resource_types: dict[type, dict[str, type]] = {}


def lean_contains_unknowns(value: Any) -> bool:
    return False if type(value) in _PLAIN else _stock_contains_unknowns(value)


def lean_unwrap_type(typ: Any) -> Any:
    try:
        return _unwrapped[typ]
    except KeyError:
        unwrapped = _unwrapped[typ] = _stock_unwrap_type(typ)
        return unwrapped
    except TypeError:  # an unhashable annotation
        return _stock_unwrap_type(typ)


def lean_context_get(self: ContextProperty, obj: Any, _owner: Any) -> Any:
    value = self._data.get(self._ContextProperty__default)
    return self if obj is None or isinstance(value, dict) else value


def _forget_done_output(lock, outputs: set, future: asyncio.Future) -> None:
    if future.cancelled() or future.exception() is not None:
        return  # left for the end of the program to report, as the SDK does
    with lock:
        outputs.discard(future)


def lean_track(self: pulumi.Output) -> None:
    lock, outputs = settings.SETTINGS.lock, settings.SETTINGS.outputs
    with lock:
        outputs.add(self._data)
    self._data.add_done_callback(functools.partial(_forget_done_output, lock, outputs))


def lean_create_urn(name, type_, parent=None, project=None, stack=None) -> pulumi.Output:
    """Each registration computes its URN as a mock engine would use it, through some ten Outputs,
    even though a monitor answers and the value is dropped; of plain strings, the same string at once."""
    if not (isinstance(name, str) and isinstance(type_, str) and (parent is None or isinstance(parent, str))):
        return _stock_create_urn(name, type_, parent, project, stack)
    if parent is not None:
        prefix = parent[0 : parent.rfind("::")] + "$"
    else:
        prefix = f"urn:pulumi:{settings.get_stack() if stack is None else stack}::"
        prefix += f"{settings.get_project() if project is None else project}::"
    return pulumi.Output.from_input(prefix + type_ + "::" + name)


def lean_resource_types(resource_class: type) -> dict[str, type]:
    try:
        types = _resource_types[resource_class]
    except KeyError:
        types = _resource_types[resource_class] = _stock_resource_types(resource_class)
    return dict(types)


def no_debug_log(*_args, **_kwargs) -> None:
    """The engine's debug channel, which the mock engine hands to a logger that drops it."""


LEAN_SDK = {
    (sdk_resource, "_get_stack_trace"): no_stack_trace,
    (rpc, "transfer_properties"): lean_transfer_properties,
    (rpc, "contains_unknowns"): lean_contains_unknowns,
    (_types, "unwrap_type"): lean_unwrap_type,
    (ContextProperty, "__get__"): lean_context_get,
    (pulumi.Output, "_track"): lean_track,
    (sdk_resource, "create_urn"): lean_create_urn,
    (_types, "resource_types"): lean_resource_types,
    (pulumi.log, "debug"): no_debug_log,
}
STOCK_SDK = {(owner, name): vars(owner)[name] for owner, name in LEAN_SDK}


def use_sdk(functions: dict) -> None:
    """Installs `LEAN_SDK` or `STOCK_SDK`."""
    for (owner, name), function in functions.items():
        setattr(owner, name, function)


use_sdk(LEAN_SDK)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def unwrap(value: Any) -> Any:
    """Plain value with every secret marker removed."""
    if _is_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def _flatten_references(value: struct_pb2.Value | struct_pb2.Struct) -> None:
    """Replaces resource references in a request's inputs by their URNs, in place.

    The stock monitor would rehydrate them into live resources inside the monitor, which fails for
    components (e.g. `ManagedNodeGroup(cluster=<eks.Cluster>)`); tests only need the URN.
    """
    if isinstance(value, struct_pb2.Struct):
        for key in list(value.keys()):
            item = value.fields[key]
            if item.HasField("struct_value"):
                inner = item.struct_value
                if rpc._special_sig_key in inner and inner[rpc._special_sig_key] == rpc._special_resource_sig:
                    item.string_value = inner["urn"]
                    continue
            _flatten_references(item)
    elif value.HasField("struct_value"):
        _flatten_references(value.struct_value)
    elif value.HasField("list_value"):
        for index, item in enumerate(value.list_value.values):
            if item.HasField("struct_value"):
                inner = item.struct_value
                if rpc._special_sig_key in inner and inner[rpc._special_sig_key] == rpc._special_resource_sig:
                    value.list_value.values[index].string_value = inner["urn"]
                    continue
            _flatten_references(item)


def _struct(state: dict[str, Any]) -> struct_pb2.Struct:
    """`state` as the engine would send it back. Plain data (secrets already in their wire form) is
    converted by protobuf itself, without the SDK's task per value; a preview's unknowns by the SDK."""
    obj = struct_pb2.Struct()
    try:
        obj.update(state)
    except (TypeError, ValueError):
        return _sync_await(rpc.serialize_properties(state, {}))
    return obj


@dataclass
class Registered:
    urn: str
    type: str
    name: str
    custom: bool
    remote: bool
    raw_inputs: dict[str, Any]
    parent: str
    provider: str
    providers: dict[str, str]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    # Read with `Resource.get`, not managed.
    read: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    # URNs this resource was known by before (its aliases), as the engine would compute them.
    alias_urns: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    # Pulumi's `protect`: the engine refuses to replace or delete it.
    protect: bool = False

    @property
    def inputs(self) -> dict[str, Any]:
        # A fresh copy each time: tests may edit what they read, and runs are shared between tests.
        return unwrap(self.raw_inputs)

    def is_secret(self, *path: str | int) -> bool:
        """True if the input at `path` (or any container on the way to it) is a Pulumi secret."""
        value: Any = self.raw_inputs
        for key in path:
            if _is_secret(value):
                return True
            value = value[key]
        return _is_secret(value)

    @property
    def provider_urn(self) -> str:
        # Provider references are "<urn>::<id>".
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


def _transform_functions(callbacks) -> list:
    """The functions behind a request's transform callbacks. The SDK registers transforms on its
    event loop while the monitor runs in a worker thread, so the registry is copied, not iterated."""
    tokens = [c.token for c in callbacks]
    if not tokens:
        return []
    from pulumi.runtime._callbacks import _CallbackServicer

    by_token: dict = {}
    for _ in range(10):
        try:
            by_token = {
                token: fn
                for servicer in list(_CallbackServicer._servicers)
                for fn, token in list(servicer._transforms.items())
            }
            break
        except RuntimeError:  # changed while copied
            continue
    return [by_token[t] for t in tokens if t in by_token]


class CapturingMonitor(mocks.MockMonitor):
    def __init__(self, mock: mocks.Mocks):
        super().__init__(mock)
        self.registered: dict[str, Registered] = {}
        # (token, args) of the invokes the mocks answered that tests look at.
        self.invokes: list[tuple[str, dict]] = []
        # A preview: resources of these names are about to be created, so their IDs and computed
        # outputs are unknown; every other resource exists already.
        self.creating: frozenset[str] = frozenset()
        self.stack = "dev"
        # The transforms that apply to each registered resource: its own, then its ancestors'.
        self.transforms: dict[str, list] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # Like the engine (unlike the stock mock): the type part carries every ancestor's type.
        parent_type = parent.split("::")[2] if parent else ""
        if parent_type and parent_type != "pulumi:pulumi:Stack":
            type_ = parent_type + "$" + type_
        return "urn:pulumi:" + "::".join([settings.get_stack(), settings.get_project(), type_, name])

    def _transformed_alias_urns(self, request, urn: str) -> list[str]:
        """What the engine does with `transforms`: runs a resource's own, then each ancestor's, and
        keeps the aliases they add. The stock mock runs none."""
        chain = [*_transform_functions(request.transforms), *self.transforms.get(request.parent, [])]
        self.transforms[urn] = chain
        opts, urns = pulumi.ResourceOptions(), []
        for transform in chain:
            result = transform(pulumi.ResourceTransformArgs(request.custom, request.type, request.name, {}, opts))
            if result is not None:
                opts = result.opts
        for alias in opts.aliases or []:
            # Alias fields left out are `...` (the resource's own).
            assert isinstance(alias, pulumi.Alias) and alias.parent is ..., (
                "the harness models name and type aliases only"
            )
            type_ = request.type if alias.type_ is ... else alias.type_
            urns.append(self.make_urn(request.parent, type_, request.name if alias.name is ... else alias.name))
        return urns

    def _alias_urns(self, request) -> list[str]:
        urns = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            urns.append(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        return urns

    def RegisterResource(self, request):
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        mocks._ensure_event_loop()
        urn = self.make_urn(request.parent, request.type, request.name)
        _flatten_references(request.object)
        raw = rpc.deserialize_properties(request.object, keep_unknowns=False)
        record = Registered(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=request.custom,
            remote=request.remote,
            raw_inputs=raw,
            parent=request.parent,
            provider=request.provider,
            providers=dict(request.providers),
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            ignore_changes=list(request.ignoreChanges),
            alias_urns=self._alias_urns(request) + self._transformed_alias_urns(request, urn),
            delete_before_replace=request.deleteBeforeReplace,
            protect=request.protect,
        )
        if urn in self.registered:
            raise AssertionError(f"two resources share the URN {urn}")
        self.registered[urn] = record

        args = mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=record.inputs, provider=request.provider, custom=request.custom
        )
        id_, computed = self.mocks.new_resource(args)
        if request.name in self.creating:
            id_, computed = "", {}
        # Like a real provider: outputs are the inputs (secrets stay secret) plus what it computes.
        state = {**raw, **computed} if request.custom else computed
        # The engine, not the SDK, makes `additional_secret_outputs` secret (pulumi-tls uses it for
        # private keys); do the same.
        for key in request.additionalSecretOutputs:
            if key in state and not _is_secret(state[key]):
                state[key] = rpc.wrap_rpc_secret(state[key])
        record.id, record.outputs = id_ or "", state
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=_struct(state))

    def ReadResource(self, request):
        # A `Resource.get`: recorded like a registration (read=True) so tests see its provider and
        # what it waits for. Like the engine, a read whose ID is unknown (a preview that creates
        # what it reads) is skipped and its outputs are unknown (ReadStep.Apply).
        if request.id == rpc.UNKNOWN:
            urn = self.make_urn(request.parent, request.type, request.name)
            self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, "", {})
            response = resource_pb2.ReadResourceResponse(urn=urn, properties=_struct({}))
        else:
            response = super().ReadResource(request)
        urn = response.urn
        registration = self.resources[urn]
        self.registered[urn] = Registered(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=True,
            remote=False,
            raw_inputs={},
            parent=request.parent,
            provider=request.provider,
            providers={},
            dependencies=list(request.dependencies),
            property_dependencies={},
            outputs=registration.state,
            id=request.id,
            read=True,
        )
        return response

    def add_resource(self, urn: str, id_: str, state: dict) -> dict:
        """Registers a resource a remote component creates, so references to it can be read back."""
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        return {rpc._special_sig_key: rpc._special_resource_sig, "urn": urn, "id": id_, "packageVersion": ""}


@dataclass
class Run:
    resources: list[Registered]
    exports: dict[str, pulumi.Output]
    error: BaseException | None
    warnings: list[str]
    # Resources the mocks made on behalf of remote components, by name.
    inner: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Invokes the mocks answered (token, args), for those tests look at.
    invokes: list[tuple[str, dict]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> Registered:
        found = [r for r in self.resources if r.type == type_ and r.name == name]
        assert len(found) == 1, f"expected one {type_} named {name}, found {len(found)}"
        return found[0]

    def children(self, parent: Registered) -> list[Registered]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, ancestor: Registered) -> list[Registered]:
        found, frontier = [], [ancestor.urn]
        while frontier:
            urn = frontier.pop()
            for r in self.resources:
                if r.parent == urn:
                    found.append(r)
                    frontier.append(r.urn)
        return found

    def edges(self, node: Registered) -> set[str]:
        """URNs `node` waits for: explicit and property dependencies and its providers. Waiting on
        a component means waiting on everything inside it, as the SDK expands it."""
        edges = set(node.dependencies)
        for urns in node.property_dependencies.values():
            edges.update(urns)
        if node.provider_urn:
            edges.add(node.provider_urn)
        edges.update(ref.rsplit("::", 1)[0] for ref in node.providers.values())
        for urn in list(edges):
            component = self._by_urn.get(urn)
            if component is not None and not component.custom:
                edges.update(d.urn for d in self.descendants(component))
        return edges

    def depends_on(self, dependent: Registered, dependency: Registered) -> bool:
        """True if `dependent` is created after (and destroyed before) `dependency`: a direct or
        transitive edge of the graph."""
        return dependency.urn in self.all_dependencies(dependent)

    def all_dependencies(self, node: Registered) -> set[str]:
        """Every URN `node` waits for, directly or transitively."""
        cache = self.__dict__.setdefault("_closure", {})
        if node.urn not in cache:
            seen: set[str] = set()
            frontier = list(self.edges(node))
            while frontier:
                urn = frontier.pop()
                if urn in seen:
                    continue
                seen.add(urn)
                other = self._by_urn.get(urn)
                if other is not None:
                    frontier.extend(cache[urn] if urn in cache else self.edges(other))
            cache[node.urn] = seen
        return cache[node.urn]

    def destroy_order(self) -> list[str]:
        """URNs in an order `pulumi destroy` may delete them: every resource before anything it
        depends on (a reverse topological order of the graph)."""
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(urn: str) -> None:
            if state.get(urn) == 2:
                return
            assert state.get(urn) != 1, f"dependency cycle through {urn}"
            state[urn] = 1
            for edge in sorted(self.edges(self._by_urn[urn])):
                if edge in self._by_urn:
                    visit(edge)
            state[urn] = 2
            order.append(urn)

        for r in self.resources:
            visit(r.urn)
        return list(reversed(order))

    def _monitor_state(self, component: Registered) -> dict[str, Any]:
        """State of the aws.eks.Cluster a pulumi-eks Cluster component made (registered by the mock)."""
        return unwrap(self.inner[component.name + "-eksCluster"])

    @property
    def _by_urn(self) -> dict[str, Registered]:
        if "_urns" not in self.__dict__:
            self.__dict__["_urns"] = {r.urn: r for r in self.resources}
        return self.__dict__["_urns"]


def resolve(output: Any) -> tuple[Any, bool]:
    """(value, is_secret) of an Output or a plain value."""
    out = pulumi.Output.from_input(output)
    return _sync_await(out.future()), bool(_sync_await(out.is_secret()))


class _WarningCatcher:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def debug(self, msg, *a, **k): ...
    def info(self, msg, *a, **k): ...
    def error(self, msg, *a, **k): ...

    def warning(self, msg, *a, **k):
        self.messages.append(str(msg))


@functools.cache
def project_config_defaults() -> dict[str, str]:
    """Pulumi.yaml's `config:` defaults, as strings, as the CLI passes them to the program."""
    declared = (yaml.safe_load((ROOT / "Pulumi.yaml").read_text()) or {}).get("config") or {}
    defaults = {}
    for key, spec in declared.items():
        if isinstance(spec, dict) and "default" in spec:
            value = spec["default"]
            defaults[key] = value if isinstance(value, str) else json.dumps(value)
    return defaults


def run_program(
    config: dict[str, Any],
    *,
    stack: str = "dev",
    aws_region: str | None = "us-east-1",
    secret_keys: Iterable[str] = (),
    mock_factory=None,
    preview_creating: Iterable[str] | None = None,
) -> Run:
    """Runs the program with `config` (project keys without namespace, others such as `aws:profile`
    with theirs; JSON-encoded like the CLI).

    With `preview_creating`, runs a preview of a deployed stack instead, on which the resources of
    those names do not exist yet."""
    from tests.mocks import MeshMocks

    # Keys with a namespace (`aws:profile`) are set as they are. The CLI fills in the defaults that
    # Pulumi.yaml declares for keys the stack does not set; so does this.
    values = {f"{PROJECT}:{k}": v for k, v in project_config_defaults().items()}
    values.update(
        {k if ":" in k else f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    )
    if aws_region:
        values["aws:region"] = aws_region
    runtime_config.set_all_config(values, [k if ":" in k else f"{PROJECT}:{k}" for k in secret_keys])

    settings.ROOT.set(None)
    monitor = CapturingMonitor(mock_factory() if mock_factory else MeshMocks())
    monitor.mocks.monitor = monitor
    monitor.creating = frozenset(preview_creating or ())
    monitor.stack = stack
    catcher = _WarningCatcher()
    preview = preview_creating is not None
    mocks.set_mocks(
        monitor.mocks,
        project=PROJECT,
        stack=stack,
        preview=preview,
        monitor=monitor,
        logger=catcher,
        organization="organization",
    )
    error: BaseException | None = None
    loop = asyncio.get_event_loop()
    created: list[asyncio.Task] = []
    loop.set_task_factory(functools.partial(_recorded_task, created))
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")))
    except Exception as err:  # the tests look at it
        error = err
        _drain_leftovers(loop, created)
    finally:
        loop.set_task_factory(None)
    root = settings.get_root_resource()
    exports = dict(getattr(root, "outputs", {}) or {})
    inner = {
        urn.rsplit("::", 1)[1]: reg.state for urn, reg in monitor.resources.items() if urn not in monitor.registered
    }
    return Run(
        resources=list(monitor.registered.values()),
        exports=exports,
        error=error,
        warnings=catcher.messages,
        inner=inner,
        invokes=monitor.invokes,
    )


def _recorded_task(created: list, loop, coro, **kwargs) -> asyncio.Task:
    # `asyncio.all_tasks` would walk every task the session's cached runs still hold (a tenth of
    # a second each time); the run's own are these.
    task = asyncio.Task(coro, loop=loop, **kwargs)
    created.append(task)
    return task


def _drain_leftovers(loop: asyncio.AbstractEventLoop, created: list[asyncio.Task]) -> None:
    """A failed program leaves tasks on the loop (outputs still resolving, registrations in
    flight); left alone, they would fail in the next run and be taken for its error. They finish
    here, against this run's monitor."""
    while pending := [task for task in created if not task.done()]:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    # The SDK's own lists of what it still awaits, which the next run's settings would inherit.
    with settings.SETTINGS.lock:
        settings.SETTINGS.outputs.clear()
    settings.SETTINGS.rpc_manager.clear()


_runs: dict[str, Run] = {}


def cached_run(config: dict[str, Any], **kwargs: Any) -> Run:
    """`run_program`, once per distinct config in a test session (runs are deterministic)."""
    key = json.dumps([config, kwargs], sort_keys=True)
    if key not in _runs:
        _runs[key] = run_program(config, **kwargs)
        # Kept for the session: the collector need not walk it again (tests/conftest.py).
        gc.freeze()
    return _runs[key]
