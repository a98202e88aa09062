"""Types of the native SIP fast path (_sipfast.c); see calltrace.decode.sip."""

from collections.abc import Callable, Iterable, Mapping

from calltrace.model import Packet, SipMessage

def setup(
    message_type: type[SipMessage],
    fields: tuple[str, ...],
    fallback: Callable[[Packet], SipMessage],
    compact_forms: Mapping[str, str],
    common: Iterable[str],
    single: Iterable[str],
    /,
) -> bool: ...
def parse_sip(packet: Packet, /) -> SipMessage: ...
def parse_fast(packet: Packet, /) -> SipMessage | None: ...
def looks_like_sip(payload: bytes, /) -> bool: ...
