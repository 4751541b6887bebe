"""Reading what a widget client sends: every frame is either processed or answered with a notice, never dropped
with a traceback. Text is cleaned (a lone surrogate cannot be stored), a frame too deeply nested to decode becomes
an UNREADABLE event the channel answers, and a typed "/intent" reaches Rasa as text.
"""
from __future__ import annotations

from typing import Any

from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from socketio import packet

UNREADABLE = "unreadable_frame"  # the event a frame that could not be decoded becomes (see TolerantPacket)
# put before a typed "/..." so Rasa's RegexMessageHandler, which strips whitespace and looks for a leading "/",
# reads it as text; invisible, not whitespace (str.strip keeps it), and a separator to the tokenizer
AS_TEXT = "\u2060"  # WORD JOINER


def readable(text: str) -> str:
    """The text with lone surrogates (which JSON can carry and UTF-8 cannot) replaced; pairs are joined."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def as_text(text: str) -> str:
    """What the visitor typed, so that Rasa never takes it for a command: "/restart" is words, not the restart
    intent (which would wipe the conversation's slots). Buttons the bot offered are passed on untouched."""
    stripped = text.strip()
    return AS_TEXT + stripped if stripped.startswith(INTENT_MESSAGE_PREFIX) else text


class TolerantPacket(packet.Packet):
    """socket.io's packet, except that an event whose JSON cannot be decoded (too deeply nested: RecursionError;
    not JSON) becomes the UNREADABLE event, which the channel answers with a notice. Without this the error is
    raised in the server's read loop: a traceback in the log and nothing for the visitor."""

    packet_type: int  # both set by Packet (socketio ships no types)
    data: Any

    def decode(self, encoded_packet: Any) -> Any:
        try:
            return super().decode(encoded_packet)
        except (ValueError, RecursionError):
            if self.packet_type not in (packet.EVENT, packet.BINARY_EVENT):
                raise
            self.packet_type, self.data = packet.EVENT, [UNREADABLE]
            return 0
