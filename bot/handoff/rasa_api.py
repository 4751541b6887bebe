"""The one client for Rasa's HTTP API (token auth, internal): read a transcript, append agent turns,
pause and resume the bot, and trigger the bot's next turn after a hand-back."""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

DEFAULT_TIMEOUT = 10.0


class RasaUnavailable(RuntimeError):
    """Rasa did not answer or refused; the message says what could not be done."""


class RasaApi:
    def __init__(self, base_url: str, token: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, what: str, method: str, path: str, body: Any = None, **params: str) -> Any:
        url = f"{self.base_url}/conversations/{path}"
        try:
            async with self.session.request(method, url, json=body, params={"token": self.token, **params}) as resp:
                if resp.status >= 400:
                    detail = (await resp.text())[:300]
                    raise RasaUnavailable(f"could not {what}: Rasa answered {resp.status}: {detail}")
                return await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise RasaUnavailable(f"could not {what}: {err.__class__.__name__} {err}") from err

    async def tracker(self, cid: str) -> Dict[str, Any]:
        return await self._call("read the conversation", "GET", f"{quote(cid, safe='')}/tracker")

    async def append(self, cid: str, events: List[Dict[str, Any]]) -> None:
        await self._call("update the conversation", "POST", f"{quote(cid, safe='')}/tracker/events", events,
                         include_events="NONE")

    async def agent_said(self, cid: str, text: str, agent: Dict[str, str]) -> None:
        """An agent's turn in the transcript: a bot utterance whose metadata names the agent."""
        await self.append(cid, [{"event": "bot", "text": text, "timestamp": time.time(),
                                 "metadata": {"agent": agent}}])

    async def resume_and_continue(self, cid: str, intent: str, entities: Optional[Dict[str, Any]] = None) -> Any:
        """Unpause the bot and let it take the next turn, answering on the visitor's own channel."""
        # while paused, Rasa listened without saying so; rules expect the turn to follow action_listen
        now = time.time()
        await self.append(cid, [{"event": "resume", "timestamp": now},
                                {"event": "action", "name": "action_listen", "timestamp": now}])
        return await self._call("hand the conversation back", "POST", f"{quote(cid, safe='')}/trigger_intent",
                                {"name": intent, "entities": entities or {}}, output_channel="latest",
                                include_events="NONE")
