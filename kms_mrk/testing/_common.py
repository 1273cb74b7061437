"""What every test client of the toolkit shares: fixed credentials and an isolated environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from kms_mrk.auth import Credentials

__all__ = ["TEST_CREDENTIALS", "TEST_REGION", "isolated_environ"]

#: The fake credentials test clients sign with: the example key pair of the AWS documentation,
#: recognisable and valid nowhere.
TEST_CREDENTIALS: Final = Credentials(
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)

#: The Region of test clients when none is given.
TEST_REGION: Final = "us-east-1"


def isolated_environ(source: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for test clients: no shared config file, no configured endpoint.

    Only ``AWS_REGION``/``AWS_DEFAULT_REGION`` are kept from ``source`` (``os.environ`` by
    default), so a developer's profile, retry settings or ``AWS_ENDPOINT_URL`` never change
    what a test does.
    """
    env = os.environ if source is None else source
    out = {k: env[k] for k in ("AWS_REGION", "AWS_DEFAULT_REGION") if env.get(k)}
    out["AWS_CONFIG_FILE"] = os.devnull
    out["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
    return out
