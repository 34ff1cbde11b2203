"""Fleet profiles: the static server templates the simulator generates metrics for.

Templates are plain data and identical on every call; the generator derives
everything else from (seed, profile, server id, timestamp).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from lib.core import InvalidParameter, Role, ServerTemplate, UnknownServer

from .hashing import stable_key

__all__ = ["FLEET_PROFILES", "Fleet", "get_fleet", "scaled_fleet"]

# Hardware per role: (cpu cores, memory MiB, disk MiB, services)
_HARDWARE: dict[str, tuple[int, int, int, tuple[str, ...]]] = {
    "web": (4, 8_192, 102_400, ("nginx", "node")),
    "api": (8, 16_384, 204_800, ("gunicorn", "python")),
    "db": (16, 65_536, 1_048_576, ("postgresql", "pgbouncer")),
    "cache": (4, 32_768, 102_400, ("redis",)),
    "worker": (16, 32_768, 512_000, ("celery", "python")),
}

_ROLE_NAMES = {"web": "Web", "api": "API", "db": "Database", "cache": "Cache", "worker": "Worker"}


@dataclass(frozen=True, eq=False)
class Fleet:
    """A named, ordered set of server templates (sorted by id).

    Compared and hashed by identity: profiles are built once (cached), and hashing a
    thousand templates on every cache lookup would dominate the generator's time.
    """

    name: str
    servers: tuple[ServerTemplate, ...]
    key: int = field(init=False)
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _by_id: dict[str, ServerTemplate] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.servers, key=lambda s: s.id))
        object.__setattr__(self, "servers", ordered)
        object.__setattr__(self, "key", stable_key(f"fleet:{self.name}"))
        object.__setattr__(self, "_index", {s.id: i for i, s in enumerate(ordered)})
        object.__setattr__(self, "_by_id", {s.id: s for s in ordered})

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.servers)

    def __len__(self) -> int:
        return len(self.servers)

    @property
    def by_id(self) -> dict[str, ServerTemplate]:
        """Every template by its server id (do not modify)."""
        return self._by_id

    def index(self, server_id: str) -> int:
        """Position of a server in the fleet; UnknownServer when absent."""
        try:
            return self._index[server_id]
        except KeyError:
            raise UnknownServer(server_id) from None

    def get(self, server_id: str) -> ServerTemplate:
        return self.servers[self.index(server_id)]

    def by_role(self, role: str) -> tuple[ServerTemplate, ...]:
        return tuple(s for s in self.servers if s.role == role)


def _template(
    server_id: str, role: Role, number: int, location: str, domain: str, platform: str
) -> ServerTemplate:
    cores, memory, disk, services = _HARDWARE[role]
    return ServerTemplate(
        id=server_id,
        name=f"{_ROLE_NAMES[role]} Server {number}",
        hostname=f"{server_id}.{domain}",
        role=role,
        location=location,
        environment="production",
        cpu_cores=cores,
        memory_total_mb=memory,
        disk_total_mb=disk,
        services=services,
        platform=platform,
    )


def _default() -> Fleet:
    counts: dict[Role, int] = {"web": 6, "api": 6, "db": 4, "cache": 2, "worker": 2}
    zones = ("seoul-a", "seoul-b")
    servers = [
        _template(f"{role}-{n:02d}", role, n, zones[(n - 1) % 2], "prod.internal", "vm")
        for role, count in counts.items()
        for n in range(1, count + 1)
    ]
    return Fleet("default", tuple(servers))


# hybrid: (platform, region code for ids, location, domain, role counts)
_HYBRID: tuple[tuple[str, str, str, str, dict[Role, int]], ...] = (
    ("kubernetes", "k8s", "k8s-seoul", "k8s.internal",
     {"web": 3, "api": 3, "cache": 2, "worker": 2}),
    ("aws", "us", "aws-us-east-1", "ec2.internal",
     {"web": 3, "api": 3, "db": 2, "cache": 1, "worker": 1}),
    ("on-premises", "eu", "idc-frankfurt", "dc.internal",
     {"web": 2, "api": 2, "db": 4, "worker": 2}),
)


def _hybrid() -> Fleet:
    servers = []
    for platform, code, location, domain, counts in _HYBRID:
        for role, count in counts.items():
            for n in range(1, count + 1):
                sid = f"{role}-{code}-{n:03d}"
                servers.append(_template(sid, role, n, location, domain, platform))
    return Fleet("hybrid", tuple(servers))


FLEET_PROFILES = ("default", "hybrid")


@cache
def get_fleet(name: str = "default") -> Fleet:
    """The named profile; InvalidParameter for an unknown name."""
    if name == "default":
        return _default()
    if name == "hybrid":
        return _hybrid()
    raise InvalidParameter("fleet", f"unknown fleet profile {name!r} (choose from default, hybrid)")


@cache
def scaled_fleet(size: int) -> Fleet:
    """A synthetic fleet of ``size`` servers with the default profile's role mix (benchmarks)."""
    counts: tuple[tuple[Role, int], ...] = (
        ("web", 6), ("api", 6), ("db", 4), ("cache", 2), ("worker", 2)
    )
    mix: tuple[Role, ...] = tuple(role for role, n in counts for _ in range(n))
    servers = [
        _template(f"{mix[i % 20]}-{i:05d}", mix[i % 20], i, "synthetic", "bench.internal", "vm")
        for i in range(size)
    ]
    return Fleet(f"scaled-{size}", tuple(servers))
