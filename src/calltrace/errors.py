"""One error family for every decoding layer (see docs/architecture.md).

A decoder never lets a foreign exception escape: whatever the bytes, it either returns
an event or raises a :class:`DecodeError`. The pipeline records the error as
``{packet, ts, layer, kind, detail}``, counts it and goes on with the next packet. Any
other exception reaching the pipeline is a bug in CallTrace, not bad input.

>>> try:
...     raise Truncated("record header needs 16 bytes, 5 left", layer="pcap")
... except DecodeError as err:
...     (err.layer, err.kind, err.detail)
('pcap', 'truncated', 'record header needs 16 bytes, 5 left')
"""

from __future__ import annotations


class CallTraceError(Exception):
    """Root of every exception CallTrace raises on purpose."""


class DecodeError(CallTraceError):
    """Abstract: the bytes could not be turned into an event.

    ``layer`` names the decoder (``pcap``, ``link``, ``ip``, ``tcp``, ``sctp``, ``ws``,
    ``sip``, ``sdp``...), ``kind`` the class of problem (a short stable token used in
    counters and in the ``errors`` table), ``detail`` a human sentence.
    """

    kind = "decode_error"

    def __init__(self, detail: str, *, layer: str = "decode", kind: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.layer = layer
        if kind is not None:
            self.kind = kind

    def __reduce__(self) -> tuple[object, ...]:
        # keyword-only arguments are lost by the default pickling of exceptions
        return (_rebuild, (type(self), self.detail, self.layer, self.kind))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r}, layer={self.layer!r}, kind={self.kind!r})"


def _rebuild(cls: type[DecodeError], detail: str, layer: str, kind: str) -> DecodeError:
    return cls(detail, layer=layer, kind=kind)


class MalformedInput(DecodeError):
    """The wire's fault: the bytes break the format."""

    kind = "malformed"


class Truncated(MalformedInput):
    """The bytes end before the format says they should (a cut capture, a short snaplen)."""

    kind = "truncated"


class Unsupported(MalformedInput):
    """Well-formed, but a variant CallTrace does not decode (an unknown link type...)."""

    kind = "unsupported"


class UsageError(DecodeError):
    """Our fault: a decoder was called the wrong way (e.g. fed after close)."""

    kind = "usage"
