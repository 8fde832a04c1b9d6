"""Decoder for the Kubernetes protobuf wire format, limited to what helm's release storage sends.

Helm's storage drivers write Secrets (and ConfigMaps with ``HELM_DRIVER=configmap``) with
``Content-Type: application/vnd.kubernetes.protobuf``. Such a body is the 4-byte magic ``k8s\\0`` followed by a
``runtime.Unknown`` message (TypeMeta, raw bytes of the object, content encoding, content type). This module turns
that into the same JSON-shaped dict a JSON client would have sent.

Contract: ``decode_object(body) -> dict`` for ``v1 Secret``, ``v1 ConfigMap`` and ``v1 Namespace`` (what
``kubectl create namespace|secret|configmap`` send, too; ObjectMeta: name, generateName,
namespace, uid, resourceVersion, generation, labels, annotations, ownerReferences, finalizers; Secret data/stringData/
type/immutable; ConfigMap data/binaryData/immutable; Secret and binary data come back base64-encoded, as in JSON).
``decode_delete_options(body)`` returns ``{}`` for any protobuf body (delete options are ignored by the stand-in).
Any other kind raises :class:`UnsupportedProtobuf`, which the server answers with 415. Responses are always JSON,
which clients accept. Field numbers are those of ``k8s.io/api/core/v1/generated.proto`` and
``k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto``.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator
from typing import Any

MAGIC = b"k8s\x00"


class UnsupportedProtobuf(ValueError):
    """The body is protobuf but not something this decoder understands."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise UnsupportedProtobuf("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield (field number, wire type, value); value is an int or bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise UnsupportedProtobuf(f"unsupported wire type {wire}")
        yield number, wire, value


def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _, raw in _fields(data):
        if number == 1:
            key = raw.decode()
        elif number == 2:
            value = raw
    return key, value


def _time(data: bytes) -> str:
    seconds = 0
    for number, _, raw in _fields(data):
        if number == 1:
            seconds = raw
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_reference(data: bytes) -> dict[str, Any]:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion", 6: "controller", 7: "blockOwnerDeletion"}
    ref: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        if number in (6, 7):
            ref[names[number]] = bool(raw)
        elif number in names:
            ref[names[number]] = raw.decode()
    return ref


def _object_meta(data: bytes) -> dict[str, Any]:
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        if number in strings:
            if raw:
                meta[strings[number]] = raw.decode()
        elif number == 7:
            meta["generation"] = raw
        elif number == 8:
            meta["creationTimestamp"] = _time(raw)
        elif number in (11, 12):
            key, value = _map_entry(raw)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = value.decode()
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(raw))
        elif number == 14:
            meta.setdefault("finalizers", []).append(raw.decode())
    return meta


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _secret(data: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {}}
    for number, _, raw in _fields(data):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            key, value = _map_entry(raw)
            obj.setdefault("data", {})[key] = _b64(value)
        elif number == 3:
            obj["type"] = raw.decode()
        elif number == 4:
            key, value = _map_entry(raw)
            obj.setdefault("stringData", {})[key] = value.decode()
        elif number == 5:
            obj["immutable"] = bool(raw)
    return obj


def _config_map(data: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}
    for number, _, raw in _fields(data):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            key, value = _map_entry(raw)
            obj.setdefault("data", {})[key] = value.decode()
        elif number == 3:
            key, value = _map_entry(raw)
            obj.setdefault("binaryData", {})[key] = _b64(value)
        elif number == 4:
            obj["immutable"] = bool(raw)
    return obj


def _namespace(data: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {}}
    for number, _, raw in _fields(data):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
    return obj


DECODERS = {("v1", "Secret"): _secret, ("v1", "ConfigMap"): _config_map, ("v1", "Namespace"): _namespace}


def _unknown(body: bytes) -> tuple[str, str, bytes]:
    if not body.startswith(MAGIC):
        raise UnsupportedProtobuf("missing k8s protobuf magic")
    api_version = kind = ""
    raw = b""
    for number, _, value in _fields(body[len(MAGIC) :]):
        if number == 1:
            for sub, _, text in _fields(value):
                if sub == 1:
                    api_version = text.decode()
                elif sub == 2:
                    kind = text.decode()
        elif number == 2:
            raw = value
    return api_version, kind, raw


def decode_object(body: bytes) -> dict[str, Any]:
    api_version, kind, raw = _unknown(body)
    decoder = DECODERS.get((api_version, kind))
    if decoder is None:
        raise UnsupportedProtobuf(f"protobuf bodies of {api_version} {kind} are not supported; send JSON")
    return decoder(raw)


def decode_delete_options(body: bytes) -> dict[str, Any]:
    return {}
