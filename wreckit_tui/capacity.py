"""The fleet against its host and its quota: the figures of the dashboard's gauges."""

from __future__ import annotations

from dataclasses import dataclass

from wreckit_tui.models import Fleet
from wreckit_tui.text import format_mib, format_mib_short, format_number


@dataclass(frozen=True)
class Host:
    """The machine the gauges compare against."""

    cores: int
    memory_mib: float

    @classmethod
    def detect(cls) -> Host:
        import psutil

        return cls(cores=psutil.cpu_count() or 1, memory_mib=psutil.virtual_memory().total / 2**20)


@dataclass(frozen=True)
class Gauge:
    """One fleet gauge: a value against a total, and what 100 % means.

    ``short_text`` and ``short_meaning`` say the same in fewer cells, for a narrow terminal.
    """

    label: str
    value: float
    total: float
    text: str
    meaning: str
    short_text: str = ""
    short_meaning: str = ""

    @property
    def fraction(self) -> float:
        return self.value / self.total if self.total else 0.0


def _of(value: float, total: float) -> str:
    return f"{format_number(value)}/{format_number(total)}"


def fleet_gauges(fleet: Fleet, host: Host, max_vms: int) -> tuple[Gauge, ...]:
    """VMs against the quota, vCPUs and memory against the host, and CPU in use.

    Every gauge's figure is in the unit of its bar: CPU in use is a share of all host cores
    (two sprites each using one full core of two make 100 %), not a sum of per-core percents.
    """
    sprites = [sprite for sprite in fleet.sprites if sprite.active]
    vcpus = sum(sprite.cpus or 0 for sprite in sprites)
    memory = sum(sprite.memory_mib or 0 for sprite in sprites)
    cpu = sum(sprite.cpu_percent or 0 for sprite in sprites)
    if not fleet.usage_reported:
        return _hosted_gauges(fleet, len(sprites), vcpus, memory, max_vms)
    plural = "s" if host.cores != 1 else ""
    cores, short_cores = f"{host.cores} host core{plural}", f"{host.cores} core{plural}"
    overcommitted = vcpus > host.cores
    in_use = cpu / host.cores
    return (
        _vms_gauge(fleet, len(sprites), max_vms),
        Gauge(
            "vCPUs",
            vcpus,
            host.cores,
            _of(vcpus, host.cores),
            f"100% = {cores}; shared" if overcommitted else f"100% = {cores}",
            short_meaning=f"shared: {short_cores}" if overcommitted else f"100% = {short_cores}",
        ),
        Gauge(
            "Memory",
            memory,
            host.memory_mib,
            f"{format_mib(memory)}/{format_mib(host.memory_mib)}",
            "100% = host memory",
            short_text=f"{format_mib_short(memory)}/{format_mib_short(host.memory_mib)}",
            short_meaning="100% = host",
        ),
        Gauge(
            "CPU in use",
            cpu,
            host.cores * 100,
            f"{in_use:.0f}%",
            f"100% = all {cores}",
            short_meaning=f"100% = {short_cores}",
        ),
    )


NOT_REPORTED = "not reported by this backend"


def _vms_gauge(fleet: Fleet, active: int, max_vms: int) -> Gauge:
    """Sprites not stopped against ``max_vms``, or against the backend's own limit where it
    reports one (``Fleet.org_vms``)."""
    if fleet.org_vms is not None:
        used, limit = fleet.org_vms
        return Gauge("VMs", used, limit, f"{used}/{limit}", "100% = org limit")
    return Gauge("VMs", active, max_vms, f"{active}/{max_vms}", "100% = max_vms")


def _hosted_gauges(
    fleet: Fleet, active: int, vcpus: float, memory: float, max_vms: int
) -> tuple[Gauge, ...]:
    """For a backend whose sprites run elsewhere and which reports no usage: allocations
    without a host to compare with, and CPU in use unknown (never a made-up zero)."""
    reported = [s for s in fleet.sprites if s.active]
    cpus_known = any(s.cpus is not None for s in reported) or not reported
    memory_known = any(s.memory_mib is not None for s in reported) or not reported
    return (
        _vms_gauge(fleet, active, max_vms),
        Gauge("vCPUs", 0, 0, format_number(vcpus) if cpus_known else "—", "allocated, hosted"),
        Gauge("Memory", 0, 0, format_mib(memory) if memory_known else "—", "allocated, hosted"),
        Gauge("CPU in use", 0, 0, "—", NOT_REPORTED, short_meaning="not reported"),
    )
