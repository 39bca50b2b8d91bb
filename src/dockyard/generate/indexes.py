"""Which package indexes uv uses, decided once for `dockyard lock` and for every build.

Two safety rules live here:

- uv's default `first-index` strategy takes a package from the first index that has it, which is
  what protects against dependency confusion (a public package named like a private one).
  `unsafe-best-match` switches that off, so dockyard asks for it only where it is needed: when
  the only extra indexes are PyTorch's CPU/CUDA wheel indexes, which also mirror numpy and
  friends at a few versions.
- An index URL with credentials (`https://user:TOKEN@host/simple`) never appears in a RUN line,
  a build argument or an argv: builds get every index as a BuildKit secret (`uv_index`, shell
  assignments of UV_INDEX_URL / UV_EXTRA_INDEX_URL, read during one RUN and kept in no layer),
  and `lock` passes them to uv in its environment.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

from dockyard.spec import Spec
from dockyard.spec.checks import has_credentials

# Indexes of torch wheels: PyPI's default torch wheels carry several GB of CUDA.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_CUDA_INDEX = "https://download.pytorch.org/whl/cu126"
INDEX_SECRET = "uv_index"


def is_torch_index(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.hostname == "download.pytorch.org" and parts.path.startswith("/whl")


@dataclass(frozen=True)
class Indexes:
    index_url: str  # "" means PyPI
    extra_urls: tuple[str, ...]

    @property
    def best_match(self) -> bool:
        """`unsafe-best-match` only when every extra index is one of PyTorch's wheel indexes,
        where no one but PyTorch can publish a name: a private extra index keeps uv's guard."""
        return bool(self.extra_urls) and all(is_torch_index(u) for u in self.extra_urls)

    @property
    def secret(self) -> bool:
        """Credentials in any URL: every index then travels as a secret."""
        return any(has_credentials(u) for u in (self.index_url, *self.extra_urls) if u)

    def uv_args(self) -> list[str]:
        """uv options for a RUN line, each value shell-quoted; no URL when they are secret."""
        args: list[str] = []
        if not self.secret:
            if self.index_url:
                args.append(f"--index-url {shlex.quote(self.index_url)}")
            args += [f"--extra-index-url {shlex.quote(url)}" for url in self.extra_urls]
        if self.best_match:
            # torch's index also mirrors numpy etc.: let the best version win across the two.
            args.append("--index-strategy unsafe-best-match")
        return args

    def uv_env(self) -> dict[str, str]:
        """The same settings as uv's environment variables (for `lock` and the secret)."""
        env = {"UV_INDEX_STRATEGY": "unsafe-best-match" if self.best_match else "first-index"}
        if self.index_url:
            env["UV_INDEX_URL"] = self.index_url
        if self.extra_urls:
            env["UV_EXTRA_INDEX_URL"] = " ".join(self.extra_urls)
        return env

    def secret_text(self) -> str:
        """The `uv_index` secret's content (shell assignments), or "" when none is needed."""
        if not self.secret:
            return ""
        env = self.uv_env()
        env.pop("UV_INDEX_STRATEGY")  # not a secret: it stays visible in the RUN line
        return "".join(f"{key}={shlex.quote(value)}\n" for key, value in sorted(env.items()))


def indexes_for(spec: Spec) -> Indexes:
    extra = list(spec.extra_index_urls)
    if "torch" in spec.gpu_frameworks and not any(is_torch_index(u) for u in extra):
        extra.append(TORCH_CUDA_INDEX if spec.gpu else TORCH_CPU_INDEX)
    return Indexes(spec.index_url, tuple(extra))
