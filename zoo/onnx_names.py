"""ONNX graphs named and ordered by what they compute, so the same weights export to the
same bytes. tf2onnx names nodes and constants from TensorFlow's traced op names and its own
process-wide counters ("const_ends__87" in one export, "__46" in the next), and where it
merges duplicated nodes it keeps whichever it meets first, a different one from run to run
(forecast-lstm: 19 of 62 nodes differed between two processes). Here every value gets a
hash of how it is computed (op types, attributes, constant bytes, graph inputs by name;
never a generated name); nodes are ordered by it (topologically) and renamed by position
("Sub_12", "Loop_3/body/Add_4"), constants "const_N" by first use. The model's input and
output names are kept: they are what a user feeds and fetches.
"""
from __future__ import annotations

import hashlib
import heapq

import onnx
from onnx import numpy_helper


def canonicalize(model: onnx.ModelProto) -> None:
    """Rename and reorder `model`'s graph (and its subgraphs) in place."""
    model.graph.doc_string = ""         # "converted from b'__inference_fn_380'"
    _identities_last(model.graph)
    _graph(model.graph, {}, {}, "", top=True)


def _identities_last(graph) -> None:
    """Where a subgraph returns both x and Identity(x) (a loop's state and its scan output:
    the same values), tf2onnx puts the Identity at either place from run to run: at the
    later one here."""
    for node in graph.node:
        for _, g in _subgraphs(node):
            outs = [o.name for o in g.output]
            for n in g.node:
                if n.op_type == "Identity" and n.input[0] in outs and n.output[0] in outs:
                    x, y = outs.index(n.input[0]), outs.index(n.output[0])
                    if y < x:
                        g.output[x].name, g.output[y].name = n.output[0], n.input[0]
            _identities_last(g)


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _graphs(a) -> list:
    return [a.g] if a.HasField("g") else list(a.graphs)


def _subgraphs(node):
    for a in node.attribute:
        for g in _graphs(a):
            yield a.name, g


def _reads(graph):
    """Every name a node of `graph`, or of a graph inside it, reads."""
    for node in graph.node:
        yield from node.input
        for _, g in _subgraphs(node):
            yield from _reads(g)


def _hashes(graph, outer: dict, top: bool) -> tuple[dict, list[str]]:
    """The hash of every name visible in `graph` (outer ones included) and of each node.
    ONNX keeps nodes in topological order, so each input is hashed before it is read."""
    h = dict(outer)
    for i, v in enumerate(graph.input):         # a subgraph's inputs are positional
        h[v.name] = _digest("input", v.name if top else i)
    for t in graph.initializer:
        data = hashlib.sha256(numpy_helper.to_array(t).tobytes()).hexdigest()
        h[t.name] = _digest("const", t.data_type, tuple(t.dims), data)
    nodes = []
    for node in graph.node:
        attrs = []
        for a in sorted(node.attribute, key=lambda a: a.name):
            if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                value = [_graph_hash(g, h) for g in _graphs(a)]
            else:
                a = _unnamed(a)
                value = a.SerializeToString(deterministic=True)
            attrs.append((a.name, value))
        key = _digest(node.domain, node.op_type, [h[i] if i else "" for i in node.input], attrs,
                      len(node.output))
        nodes.append(key)
        for k, out in enumerate(node.output):
            if out:
                h[out] = _digest(key, k)
    return h, nodes


def _graph_hash(graph, outer: dict) -> str:
    h, nodes = _hashes(graph, outer, top=False)
    return _digest([h[o.name] for o in graph.output], sorted(nodes))


def _unnamed(a):
    """A copy of attribute `a` without the generated names of the tensors it holds."""
    copy = onnx.AttributeProto()
    copy.CopyFrom(a)
    if copy.HasField("t"):
        copy.t.name = ""
    for t in copy.tensors:
        t.name = ""
    return copy


def _order(graph, keys: list[str]) -> list[int]:
    """Node indices in topological order, ties broken by hash (not by how tf2onnx listed
    them); a node also waits for what its subgraphs read from this graph."""
    producer = {out: i for i, node in enumerate(graph.node) for out in node.output if out}
    needs = []
    for node in graph.node:
        reads = {*node.input, *_reads_below(node)}
        needs.append({producer[n] for n in reads if n in producer})
    users = [[] for _ in graph.node]
    for i, deps in enumerate(needs):
        for d in deps:
            users[d].append(i)
    waiting = [len(d) for d in needs]
    ready = [(keys[i], i) for i, w in enumerate(waiting) if not w]
    heapq.heapify(ready)
    order = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            waiting[u] -= 1
            if not waiting[u]:
                heapq.heappush(ready, (keys[u], u))
    if len(order) < len(graph.node):
        raise ValueError(f"ONNX graph {graph.name!r} has a cycle")
    return order


def _graph(graph, outer_hashes: dict, outer_names: dict, scope: str, top: bool) -> None:
    h, keys = _hashes(graph, outer_hashes, top)
    if not top:             # "..._while_body_frozen_9235": TensorFlow's function counter
        graph.name = scope.rstrip("/")
    order = _order(graph, keys)
    names = dict(outer_names)
    kept = {v.name for v in graph.output} if top else set()
    for i, v in enumerate(graph.input):
        names[v.name] = v.name if top else f"{scope}input_{i}"
    nodes = [graph.node[i] for i in order]
    for position, node in enumerate(nodes):
        node.name = f"{scope}{node.op_type}_{position}"
        for k, out in enumerate(node.output):
            if out:
                names[out] = out if out in kept else f"{node.name}:{k}"
    consts = {t.name for t in graph.initializer}
    read = [n for node in nodes for n in [*node.input, *_reads_below(node)] if n in consts]
    read += sorted(consts, key=lambda n: h[n])                  # unused ones last
    place = {n: i for i, n in enumerate(dict.fromkeys(read))}
    for n, i in place.items():
        names.setdefault(n, n if n in kept else f"{scope}const_{i}")
    for node in nodes:
        for attr_name, g in _subgraphs(node):
            _graph(g, h, names, f"{node.name}/{attr_name}/", top=False)
        node.input[:] = [names[n] if n else "" for n in node.input]
        node.output[:] = [names[n] if n else "" for n in node.output]
        if not node.domain:         # unset or set to "": tf2onnx writes both
            node.ClearField("domain")
        for a in node.attribute:
            if a.HasField("t"):
                a.t.name = ""
            for t in a.tensors:
                t.name = ""
    reordered = [_copy(node) for node in nodes]
    del graph.node[:]
    graph.node.extend(reordered)
    inits = [_copy(t) for t in sorted(graph.initializer, key=lambda t: place[t.name])]
    for t in inits:
        t.name = names[t.name]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    for v in [*graph.input, *graph.output]:
        v.name = names[v.name]
    infos = sorted((_copy(v) for v in graph.value_info if v.name in names),
                   key=lambda v: names[v.name])
    for v in infos:
        v.name = names[v.name]
    del graph.value_info[:]
    graph.value_info.extend(infos)
    for v in [*graph.input, *graph.output, *graph.value_info]:
        for dim in v.type.tensor_type.shape.dim:
            if dim.dim_param.startswith("unk__"):       # tf2onnx's counter: an unnamed axis
                dim.ClearField("dim_param")


def _reads_below(node):
    return [n for _, g in _subgraphs(node) for n in _reads(g)]


def _copy(message):
    copy = type(message)()
    copy.CopyFrom(message)
    return copy
