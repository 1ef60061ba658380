"""The case table, one module per specification; importing this package registers them all."""

from corenet.conformance.cases import (  # noqa: F401
    base,
    bearer,
    cx,
    gtp,
    ims,
    nas,
    pcrf,
    roaming,
    s1ap,
    s6a,
    security,
    service,
    tau,
)
