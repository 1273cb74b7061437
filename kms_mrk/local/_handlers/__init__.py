"""One handler per KMS operation: typed request in, typed response out.

Handlers run with the LocalKMS lock held and get a :class:`Ctx` naming the caller (account,
Region, principal) and the request time. Every check (key lookup, key policy, key state,
key usage, arguments) happens before the first change to the state, so a refused request
changes nothing. Expensive key generation (RSA keys for CreateKey, data key pairs) is asked
for with :meth:`Ctx.costly` once every check has passed: the first time it raises
:class:`Prepare`, the LocalKMS releases the lock, generates the key and runs the handler
again (checking everything again) with the result at hand. A refused request never pays for
a key it does not get, and the lock is never held while a key is generated.

DescribeKey has a second, wire-level handler that writes the response body directly from
cached JSON fragments (see :mod:`._metadata`), because pollers call it far more than anything
else; the tests check that its bytes are those the AWS JSON codec writes for
:func:`key_metadata`.

Key identifiers are resolved as KMS resolves them (see :meth:`Ctx.resolve`).

Layout:

- ``_context``: :class:`Ctx`, :class:`Settings`, :class:`KeyFacts`, :class:`Prepare`;
- ``_specs``: key specs, key usages and their algorithms;
- ``_metadata``: KeyMetadata rendering (typed and direct JSON);
- ``_common``: helpers shared by handlers (errors, tags, policies, paging);
- ``_registry``: the ``@handler`` decorator and the ``HANDLERS`` table;
- one module per topic: ``_keys``, ``_multi_region``, ``_crypto_ops``, ``_aliases``,
  ``_tags``, ``_policies``, ``_rotation``, ``_grants``, ``_imports``, ``_usage``,
  ``_agreement`` (DeriveSharedSecret, Encapsulate, Decapsulate), ``_keystores`` (custom key
  stores).

To add operations: write a topic module ``_<topic>.py`` here whose handlers are decorated with
``@handler(<Op>Command)`` (``mutating=True`` when the handler changes the state), add the
key-state rules of each new operation to ``kms_mrk/local/_keystates.py``, and import the module
below. Importing it is what registers its handlers.
"""

from __future__ import annotations

# Importing a topic module registers its handlers; keep this list sorted.
from kms_mrk.local._handlers import (  # noqa: F401
    _agreement,
    _aliases,
    _crypto_ops,
    _grants,
    _imports,
    _keys,
    _keystores,
    _multi_region,
    _policies,
    _rotation,
    _tags,
    _usage,
)
from kms_mrk.local._handlers._context import Ctx, KeyFacts, Prepare, Settings
from kms_mrk.local._handlers._metadata import key_metadata, key_metadata_json
from kms_mrk.local._handlers._registry import HANDLERS, Handler, handler

__all__ = [
    "HANDLERS",
    "Ctx",
    "Handler",
    "KeyFacts",
    "Prepare",
    "Settings",
    "handler",
    "key_metadata",
    "key_metadata_json",
]
