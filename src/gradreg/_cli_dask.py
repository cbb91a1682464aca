"""The Dask cluster of ``gradreg fit``: ``--scheduler`` (a running cluster) or
``--dask-workers`` (a local one for this fit), checked before any data are read."""

from __future__ import annotations

import contextlib

import click

from .errors import ClusterConnectionError

# How long the command waits for a scheduler to answer. Dask's own default is 30 s, and it
# keeps trying an address where nothing listens until then: a mistyped address would hold
# the command for half a minute. A running scheduler answers within milliseconds.
CONNECT_TIMEOUT_S = 10

_EXAMPLE = "tcp://127.0.0.1:8786"
# Schemes whose addresses are host:port (distributed's others have their own forms).
_HOST_PORT_SCHEMES = ("tcp", "tls", "ws", "wss")


def check_cluster_options(scheduler: str | None, workers: int | None) -> None:
    """Refuse, before any work, the Dask options that cannot be honoured: both given, the
    extra not installed, or an address that is not one."""
    if scheduler is None and workers is None:
        return
    if scheduler is not None and workers is not None:
        raise click.UsageError(
            "--scheduler connects to a running cluster and --dask-workers starts a local one: "
            "give one of them (the cluster behind --scheduler has its own workers)."
        )
    try:
        from distributed.comm.addressing import parse_address
        from distributed.comm.registry import get_backend
    except ImportError:
        raise click.UsageError(
            "--scheduler and --dask-workers need the Dask extra: pip install 'gradreg[dask]'."
        ) from None
    if scheduler is None:
        return
    scheme, location = parse_address(scheduler)
    try:
        get_backend(scheme)
    except ValueError:
        reason = f"unknown scheme {scheme!r}"
    else:
        reason = _host_port_problem(location) if scheme in _HOST_PORT_SCHEMES else None
    if reason is not None:
        raise click.BadParameter(
            f"{scheduler!r} is not the address of a Dask scheduler ({reason}); write it "
            f"tcp://host:port, as the scheduler prints it, e.g. {_EXAMPLE}.",
            param_hint="--scheduler",
        )


def _host_port_problem(location: str) -> str | None:
    """What is wrong with ``host:port`` (``[v6 address]:port``), or None."""
    host, colon, port = location.rpartition(":")
    if not colon or (location.startswith("[") and not host.endswith("]")):
        return "no port number"
    if not host.strip("[]"):
        return "no host"
    if not port.isdigit() or not 0 < int(port) < 2**16:
        return f"port {port!r} is not a number in 1-65535"
    return None


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None):
    """A client of the scheduler at ``scheduler``, or of a local cluster of ``workers``
    single-threaded worker processes (see :func:`check_cluster_options`)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:  # the timeout, a refused or unresolvable address
            raise ClusterConnectionError(
                f"--scheduler: no Dask scheduler answered at {scheduler} within "
                f"{CONNECT_TIMEOUT_S} s; check that the scheduler is running at that address "
                "(it prints it when it starts) and that this machine can reach it."
            ) from exc
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client

