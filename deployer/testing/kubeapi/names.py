"""Object name validation per kind, as the Kubernetes API server (v1.35) does it.

Contract: :func:`name_errors` returns the messages the real server would give for ``metadata.name`` (or, with
``prefix=True``, ``metadata.generateName``) of an object of ``(group, kind)``; an empty list means valid. The rules,
taken from the API server's per-kind validation:

- RBAC Role, ClusterRole, RoleBinding, ClusterRoleBinding: a *path segment name*: anything except ``.`` and ``..``
  and names containing ``/`` or ``%`` (so cert-manager's ``...controller-approve:cert-manager-io`` is fine);
- Namespace: an RFC 1123 label (at most 63 characters);
- Service: an RFC 1035 label (starts with a letter; at most 63 characters). The relaxed rule (an RFC 1123 label)
  is the ``RelaxedServiceNameValidation`` feature gate, alpha and off in 1.35;
- CronJob: an RFC 1123 subdomain of at most 52 characters (it names its Jobs with an 11-character suffix);
- CustomResourceDefinition: an RFC 1123 subdomain equal to ``<spec.names.plural>.<spec.group>``;
- everything else, custom resources included: an RFC 1123 subdomain (at most 253 characters).

:func:`invalid_message` renders the 422 message the server sends: ``<Kind>[.<group>] "<name>" is invalid: ...``,
one ``field: Invalid value: "name": reason`` per error, several in ``[..., ...]``.
"""

from __future__ import annotations

import re
from typing import Any

DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + r"(\." + DNS1123_LABEL + ")*"
DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
# Matched with fullmatch, as the API server's Go regexps (^...$) match: the whole name, no trailing newline.
_LABEL = re.compile(DNS1123_LABEL)
_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN)
_DNS1035 = re.compile(DNS1035_LABEL)

RBAC_GROUP = "rbac.authorization.k8s.io"
PATH_SEGMENT_KINDS = {(RBAC_GROUP, k) for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")}


def _regex_error(message: str, regex: str, *examples: str) -> str:
    """The API server's wording: ``message (e.g. 'a',  or 'b', regex used for validation is '...')``."""
    if not examples:
        return f"{message} (regex used for validation is '{regex}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{regex}')"


def _max_len(limit: int) -> str:
    return f"must be no more than {limit} characters"


def dns1123_label(value: str) -> list[str]:
    errors = [_max_len(63)] if len(value) > 63 else []
    if not _LABEL.fullmatch(value):
        errors.append(
            _regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                "or '-', and must start and end with an alphanumeric character",
                DNS1123_LABEL,
                "my-name",
                "123-abc",
            )
        )
    return errors


def dns1123_subdomain(value: str, limit: int = 253) -> list[str]:
    errors = [_max_len(limit)] if len(value) > limit else []
    if not _SUBDOMAIN.fullmatch(value):
        errors.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                DNS1123_SUBDOMAIN,
                "example.com",
            )
        )
    return errors


def dns1035_label(value: str) -> list[str]:
    errors = [_max_len(63)] if len(value) > 63 else []
    if not _DNS1035.fullmatch(value):
        errors.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                DNS1035_LABEL,
                "my-name",
                "abc-123",
            )
        )
    return errors


def path_segment(value: str, prefix: bool = False) -> list[str]:
    if not prefix and value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def name_errors(group: str, kind: str, name: str, *, prefix: bool = False) -> list[str]:
    """Why ``name`` is not a valid name (``prefix``: generateName) for ``kind`` in ``group``; [] when it is."""
    if (group, kind) in PATH_SEGMENT_KINDS:
        return path_segment(name, prefix)
    if prefix and name.endswith("-"):  # a generateName prefix may end with '-': the server masks it
        name = name[:-1] + "a"
    if (group, kind) == ("", "Namespace"):
        return dns1123_label(name)
    if (group, kind) == ("", "Service"):
        return dns1035_label(name)
    if (group, kind) == ("batch", "CronJob"):
        return dns1123_subdomain(name, 52)
    return dns1123_subdomain(name)


def crd_name_errors(crd: dict[str, Any]) -> list[str]:
    """The extra rule for a CustomResourceDefinition's name: ``<plural>.<group>``."""
    spec = crd.get("spec") or {}
    plural = (spec.get("names") or {}).get("plural", "")
    if crd["metadata"].get("name") != f"{plural}.{spec.get('group', '')}":
        return ['must be spec.names.plural+"."+spec.group']
    return []


def qualified_kind(group: str, kind: str) -> str:
    return f"{kind}.{group}" if group else kind


def invalid_message(group: str, kind: str, name: str, errors: list[tuple[str, str, str]]) -> str:
    """``errors``: (field, value, reason) triples; value "" with a reason starting "Required" is a Required error."""
    rendered = [_field_error(f, v, r) for f, v, r in errors]
    detail = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    return f'{qualified_kind(group, kind)} "{name}" is invalid: {detail}'


def _field_error(field: str, value: str, reason: str) -> str:
    if reason.startswith("Required value"):
        return f"{field}: {reason}"
    return f'{field}: Invalid value: "{value}": {reason}'


def causes(errors: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """The ``details.causes`` of the 422 Status."""
    result = []
    for field, value, reason in errors:
        if reason.startswith("Required value"):
            result.append({"reason": "FieldValueRequired", "message": reason, "field": field})
        else:
            result.append(
                {"reason": "FieldValueInvalid", "message": f'Invalid value: "{value}": {reason}', "field": field}
            )
    return result
